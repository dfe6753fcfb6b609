/** Version of every message schema in this folder. Bump on a breaking change; the cloud rejects unknown versions. */
export const SCHEMA_VERSION = 1 as const;
