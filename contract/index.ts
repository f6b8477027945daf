/** The wire between agent, CLI and control plane: valibot schemas and the types inferred from them. */
export * from './agent.js';
export * from './census.js';
export * from './census-api.js';
export * from './common.js';
export * from './destination.js';
export * from './error.js';
export * from './prefix.js';
export * from './result.js';
export * from './source.js';
export * from './stats.js';
export * from './token.js';
