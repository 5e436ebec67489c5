// The agent's configuration: schema and types (schema.ts), units (units.ts), loading (config.ts).
export * from './schema';
export * from './units';
export * from './listen';
export {
  formatIssue,
  formatPath,
  validateAgainst,
  type ConfigIssue,
  type ConfigPath,
  type WalkOptions,
} from './validate';
export * from './config';
export * from './describe';
