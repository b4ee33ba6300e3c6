/**
 * Masks for the personal data of SPEC §7 (subscriberId, subscriberName, clientIp): enough to
 * recognise a row, not enough to identify a person.
 */

/** `905555555555` -> `9055****5555`: a third of the characters at each end, at most four. */
export function maskSubscriberId(id: string): string {
  const chars = Array.from(id);
  const keep = Math.min(4, Math.floor(chars.length / 3));
  return chars.slice(0, keep).join('') + '****' + (keep > 0 ? chars.slice(-keep).join('') : '');
}

/** `John Doe` -> `J*** D**`: the first letter of each word. */
export function maskName(name: string): string {
  return name
    .split(/(\s+)/)
    .map((part) => {
      if (/^\s*$/.test(part)) return part;
      const chars = Array.from(part);
      return chars[0] + '*'.repeat(chars.length - 1);
    })
    .join('');
}

/** `203.0.113.7` -> `203.0.113.*`; an IPv6 address keeps its first three groups (its /48). */
export function maskIp(ip: string): string {
  if (ip.includes('.')) return ip.replace(/\.\d+$/, '.*');
  const groups = ip.split(':').filter((g) => g !== '');
  return `${groups.slice(0, 3).join(':')}:*`;
}

/** A payload object with its personal fields masked (other fields untouched). */
export function maskPayload(payload: Record<string, unknown>): Record<string, unknown> {
  const out = { ...payload };
  if (typeof out.subscriberId === 'string') out.subscriberId = maskSubscriberId(out.subscriberId);
  if (typeof out.subscriberName === 'string') out.subscriberName = maskName(out.subscriberName);
  if (typeof out.clientIp === 'string') out.clientIp = maskIp(out.clientIp);
  return out;
}
