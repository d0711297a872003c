/** `{ a?: T | undefined }` as `{ a?: T }`: what strict optional types expect of parsed configuration. */
export type Compact<T> = { [K in keyof T]: Exclude<T[K], undefined> };

/** Drops the keys whose value is undefined (zod leaves absent optional keys as undefined). */
export function compact<T extends object>(value: T): Compact<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Compact<T>;
}
