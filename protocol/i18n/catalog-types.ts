/**
 * Types read from the English catalog: every leaf key, the message at a key, and the `{{names}}`
 * in it. `t()` takes exactly those names, so an unused or missing parameter does not compile.
 */

/** Another locale's catalog: the same keys, any strings. */
export type CatalogShape<T> = { readonly [K in keyof T]: T[K] extends string ? string : CatalogShape<T[K]> };

/** "probe.noDevices", "faults.DEVICE_MISSING.config", ... */
export type LeafKeys<T, Prefix extends string = ''> = {
  [K in keyof T & string]: T[K] extends string ? `${Prefix}${K}` : LeafKeys<T[K], `${Prefix}${K}.`>;
}[keyof T & string];

export type MessageAt<T, Key extends string> = Key extends `${infer Head}.${infer Rest}`
  ? Head extends keyof T
    ? MessageAt<T[Head], Rest>
    : never
  : Key extends keyof T
    ? T[Key]
    : never;

export type ParamNames<Message> = Message extends `${string}{{${infer Name}}}${infer Rest}` ? Name | ParamNames<Rest> : never;

export type ParamValue = string | number;

/** No second argument for a message without parameters; exactly its parameters otherwise. */
export type ParamArgs<Message> = [ParamNames<Message>] extends [never] ? [] : [params: { [Name in ParamNames<Message>]: ParamValue }];
