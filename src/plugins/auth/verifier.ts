/** What a verifier knows about a token it accepted. */
export interface ValidToken {
  readonly valid: true;
  /** Seconds the token has left; 0 or absent means it does not expire. */
  readonly ttlSeconds?: number;
  readonly policies?: readonly string[];
}

export type VerifyResult = ValidToken | { readonly valid: false };

/**
 * Decides whether a token is good. `{valid: false}` is a definite answer ("this token is not accepted"); a verifier
 * that cannot tell (backend down, sealed, timing out) must throw, never answer invalid: an outage is a 503 and is
 * never cached, while an invalid answer is a 401 and is.
 */
export interface TokenVerifier {
  verify(token: string): Promise<VerifyResult>;
}
