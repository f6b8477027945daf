/**
 * Which hosts "exist" in a census lab: a seeded pseudo-random subset of {@link CENSUS_PREFIX}, enforced by an nft set
 * in the target (packets to any other address of the prefix are dropped). Shared by the census lab tests and
 * bench/census.
 */
import { uintToIpv4 } from '../../contract/index.js';
import { mulberry32 } from '../helpers/prng.js';
import { CENSUS_PREFIX, CENSUS_PREFIX6, type Lab } from './lab.js';
import { runIn } from './shell.js';

/** About one address in 64 of the /16 (~1,000 hosts) from `seed`, plus both ends of the range. */
export function existingHosts(seed: number): string[] {
  const random = mulberry32(seed);
  const hosts = ['198.19.0.1', '198.19.255.254'];
  const base = 0xc6130000; // 198.19.0.0
  for (let i = 2; i < 65_534; i++) if (random() < 1 / 64) hosts.push(uintToIpv4(base + i));
  return hosts;
}

/** The same for {@link CENSUS_PREFIX6}: about one address in 64, plus ::1 and ::ffff of the prefix. */
export function existingHosts6(seed: number): string[] {
  const random = mulberry32(seed);
  const hosts = ['fd00:198:18:5::1', 'fd00:198:18:5::ffff'];
  for (let i = 2; i < 0xffff; i++) if (random() < 1 / 64) hosts.push(`fd00:198:18:5::${i.toString(16)}`);
  return hosts;
}

/**
 * In the target: every packet to the census prefixes (echo requests, TCP SYNs, UDP) is dropped unless its address
 * is one of `hosts` (IPv4) or `hosts6` (IPv6).
 */
export async function allowOnly(
  lab: Lab,
  hosts: readonly string[],
  hosts6: readonly string[] = [],
): Promise<void> {
  await runIn(lab.target, ['nft', 'delete', 'table', 'inet', 'pinger_census']).catch(() => undefined);
  const script = `table inet pinger_census {
  set alive {
    type ipv4_addr
    elements = { ${hosts.join(', ')} }
  }
  set alive6 {
    type ipv6_addr
    ${hosts6.length > 0 ? `elements = { ${hosts6.join(', ')} }` : ''}
  }
  chain input {
    type filter hook input priority 0; policy accept;
    ip daddr ${CENSUS_PREFIX} ip daddr != @alive drop
    ip6 daddr ${CENSUS_PREFIX6} ip6 daddr != @alive6 drop
  }
}
`;
  await runIn(lab.target, ['nft', '-f', '-'], script);
}

/**
 * Replaces the IPv4 hosts that exist, in one nft transaction (`nft -f` applies a file atomically): unlike
 * {@link allowOnly}, which deletes and remakes the table, no pass ever sees every address answer for a moment.
 */
export async function replaceHosts(lab: Lab, hosts: readonly string[]): Promise<void> {
  const script = `flush set inet pinger_census alive
add element inet pinger_census alive { ${hosts.join(', ')} }
`;
  await runIn(lab.target, ['nft', '-f', '-'], script);
}
