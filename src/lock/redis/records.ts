import { BackendError, type HolderInfo } from '../errors.js';

/** Encodes a holder as a record (the inverse of {@link decodeRecord}; the format is lib.lua's). */
export function encodeRecord(holder: HolderInfo): string {
  const offset = holder.acquiredAt - Math.floor(holder.fence / 1000);
  return `${holder.fence}\t${offset}\t${Buffer.byteLength(holder.owner, 'utf8')}\t${holder.owner}${holder.purpose}`;
}

const RECORD = /^(\d+)\t(-?\d+)\t(\d+)\t/;

/**
 * Decodes a resource's record from the shard's meta hash (see scripts/lib.lua):
 * `"<fence>\t<acquiredAt offset>\t<owner length in bytes>\t<owner><purpose>"`, where acquiredAt (server ms) is
 * `floor(fence / 1000) + offset` (the offset is 0 whenever the fence is the server's time in µs).
 */
export function decodeRecord(raw: unknown): { fence: number; holder: HolderInfo | null } {
  if (raw === null || raw === false || raw === undefined) return { fence: 0, holder: null };
  const match = typeof raw === 'string' ? RECORD.exec(raw) : null;
  if (!match) {
    throw new BackendError(`Unreadable lease record ${JSON.stringify(raw)}: is another program writing leasehold's keys?`);
  }
  const [head, fence, offset, ownerBytes] = match as unknown as [string, string, string, string];
  const rest = Buffer.from((raw as string).slice(head.length), 'utf8');
  const split = Number(ownerBytes);
  const holder = {
    owner: rest.subarray(0, split).toString('utf8'),
    fence: Number(fence),
    acquiredAt: Math.floor(Number(fence) / 1000) + Number(offset),
    purpose: rest.subarray(split).toString('utf8'),
  };
  return { fence: holder.fence, holder };
}
