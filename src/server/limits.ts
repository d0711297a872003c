/**
 * How often Node sweeps connections for the headers and request timeouts (30 s by default, so a slowloris
 * connection set to 1.5 s lived 28 s): the timeouts hold to within this.
 */
export const TIMEOUT_SWEEP_MS = 500;
