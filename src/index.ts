/**
 * leasehold: leased, fenced Redis locks for conductor services.
 *
 * @packageDocumentation
 */
export * from './lock/index.js';
export * from './nodes/index.js';
export * from './conductor/index.js';
export * from './recovery/index.js';
