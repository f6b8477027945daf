/**
 * Impairments with nftables, applied in the lab's router on the way to the target (one direction only, so an
 * induced loss of N % is N % of probes, not 1 - (1 - N %)²). Each helper replaces the lab's one table, so they do
 * not stack; {@link clearImpairment} removes it.
 */
import type { Lab } from './lab.js';
import { runIn } from './shell.js';

const TABLE = 'pinger_lab';

async function install(lab: Lab, rule: string): Promise<void> {
  await clearImpairment(lab);
  const script = `table inet ${TABLE} {
  chain forward {
    type filter hook forward priority 0; policy accept;
    oifname "r1" ${rule}
  }
}
`;
  await runIn(lab.router, ['nft', '-f', '-'], script);
}

/** Drops `percent` % of the packets forwarded towards the target, at random. */
export function induceLoss(lab: Lab, percent: number): Promise<void> {
  return install(lab, `numgen random mod 100 < ${percent} drop`);
}

/**
 * Drops exactly one packet in `every` forwarded towards the target (an nft counter, not a coin): a test that
 * checks how loss is counted then gets the same loss every run, where {@link induceLoss} would leave it to
 * chance.
 */
export function induceEveryNthLoss(lab: Lab, every: number): Promise<void> {
  return install(lab, `numgen inc mod ${every} == 0 drop`);
}

/** Drops every packet forwarded towards the target: probes time out. */
export function blackHole(lab: Lab): Promise<void> {
  return install(lab, 'drop');
}

/**
 * Rejects every packet towards the target with an ICMP / ICMPv6 "administratively prohibited" (type 3 code 13,
 * ICMPv6 type 1 code 1), sent by the router.
 */
export function rejectAdmin(lab: Lab): Promise<void> {
  return install(lab, 'reject with icmpx type admin-prohibited');
}

/** Removes the lab's impairment table, if any. */
export async function clearImpairment(lab: Lab): Promise<void> {
  await runIn(lab.router, ['nft', 'delete', 'table', 'inet', TABLE]).catch(() => undefined);
}

/**
 * Drops the RSTs the target's kernel sends from `port`, where the lab responder answers SYNs itself
 * (`--syn-port`): otherwise each probe would get the kernel's RST before the responder's delayed SYN-ACK.
 */
export async function silenceResets(lab: Lab, port: number): Promise<void> {
  const script = `table inet pinger_lab_syn {
  chain output {
    type filter hook output priority 0; policy accept;
    tcp sport ${port} tcp flags rst drop
  }
}
`;
  await runIn(lab.target, ['nft', '-f', '-'], script);
}
