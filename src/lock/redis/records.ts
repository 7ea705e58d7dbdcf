import { BackendError, type HolderInfo } from '../errors.js';

const RECORD = /^(\d+)\t(\d+)\t(\d+)\t/;

/**
 * Decodes a resource's record from the shard's meta hash (see scripts/lib.lua):
 * `"<fence>\t<acquiredAtMs>\t<owner length in bytes>\t<owner><purpose>"`.
 */
export function decodeRecord(raw: unknown): { fence: number; holder: HolderInfo | null } {
  if (raw === null || raw === false || raw === undefined) return { fence: 0, holder: null };
  const match = typeof raw === 'string' ? RECORD.exec(raw) : null;
  if (!match) {
    throw new BackendError(`Unreadable lease record ${JSON.stringify(raw)}: is another program writing leasehold's keys?`);
  }
  const [head, fence, acquiredAt, ownerBytes] = match as unknown as [string, string, string, string];
  const rest = Buffer.from((raw as string).slice(head.length), 'utf8');
  const split = Number(ownerBytes);
  const holder = {
    owner: rest.subarray(0, split).toString('utf8'),
    fence: Number(fence),
    acquiredAt: Number(acquiredAt),
    purpose: rest.subarray(split).toString('utf8'),
  };
  return { fence: holder.fence, holder };
}
