import { BackendError, type HolderInfo } from '../errors.js';

/**
 * Decodes a resource's record from the shard's meta hash (see scripts/lib.lua): `[fence]` once released,
 * `[fence, owner, acquiredAt, purpose]` while held or orphaned.
 */
export function decodeRecord(raw: unknown): { fence: number; holder: HolderInfo | null } {
  if (typeof raw !== 'string') return { fence: 0, holder: null };
  let fields: unknown;
  try {
    fields = JSON.parse(raw);
  } catch (cause) {
    throw new BackendError(`Unreadable lease record ${JSON.stringify(raw)}: is another program writing leasehold's keys?`, { cause });
  }
  if (!Array.isArray(fields) || typeof fields[0] !== 'string') {
    throw new BackendError(`Unreadable lease record ${JSON.stringify(raw)}: is another program writing leasehold's keys?`);
  }
  const fence = Number(fields[0]);
  if (fields.length === 1) return { fence, holder: null };
  const [, owner, acquiredAt, purpose] = fields as [string, unknown, unknown, unknown];
  return { fence, holder: { owner: String(owner), fence, acquiredAt: Number(acquiredAt), purpose: typeof purpose === 'string' ? purpose : '' } };
}
