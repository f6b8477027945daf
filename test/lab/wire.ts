/**
 * The wire as the measure of an RTT: tcpdump records the agent's interface at nanosecond precision, and each
 * probe's request → answer time is read from the capture, for comparison with what a prober reported for that
 * probe. Used by the lab's timing test and by bench/probe.
 *
 * The capture is read here (pcap with nanosecond timestamps, Ethernet frames), not through `tcpdump -r`'s text:
 * UDP probes are told apart by the seq inside the probe payload and TCP probes by the low half of the SYN's
 * sequence number, which tcpdump's text does not give in one form. Only what the lab sends is understood:
 * IPv4 without fragments, IPv6 without extension headers.
 *
 * Not `--immediate-mode`: that wakes tcpdump for every packet, from inside the send path, between the capture's
 * stamp of a request and the driver's, and adds 10–20 µs there on this machine (measured). Without it the kernel
 * hands tcpdump a block at a time (up to a second late), so a capture is read once it holds what the caller
 * waits for (see {@link WireCapture.stop}).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { formatIpv6, isProbePayload, probeSeq } from '../../agent/packets/index.js';
import { until } from '../helpers/until.js';

/** A running tcpdump. */
export interface WireCapture {
  /**
   * Ends it. With `holds`, first waits (at most 5 s) until the file's frames satisfy it, e.g. until the answer
   * to the last probe is in: tcpdump writes a block at a time.
   */
  stop(holds?: (frames: Frame[]) => boolean): Promise<void>;
}

/**
 * Starts tcpdump on `iface` in namespace `ns`, writing every frame to `file` with nanosecond timestamps;
 * resolves once it listens (at most 10 s).
 */
export async function captureWire(ns: string, iface: string, file: string): Promise<WireCapture> {
  const child: ChildProcess = spawn(
    'ip',
    [
      'netns',
      'exec',
      ns,
      'tcpdump',
      '-i',
      iface,
      '-n',
      '--time-stamp-precision=nano',
      '-B',
      '16384',
      '-U',
      '-w',
      file,
      'ip or ip6',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const stop = async (holds?: (frames: Frame[]) => boolean) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    if (holds) {
      await until(
        `the capture ${file} to hold what was sent`,
        () => {
          try {
            return holds(readPcap(readFileSync(file)));
          } catch {
            return false; // not even the file header written yet
          }
        },
        5000,
        100,
      );
    }
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };
  try {
    await new Promise<void>((resolve, reject) => {
      let stderr = '';
      const timer = setTimeout(() => reject(new Error(`[lab] tcpdump did not start: ${stderr}`)), 10_000);
      child.stderr?.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (stderr.includes('listening on')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`[lab] tcpdump exited (${code}): ${stderr}`));
      });
    });
  } catch (err) {
    await stop();
    throw err;
  }
  return { stop };
}

/** One frame of a capture: its timestamp (ns since the epoch) and bytes. */
export interface Frame {
  ns: bigint;
  bytes: Buffer;
}

const PCAP_NANO_MAGIC = 0xa1b23c4d;
const LINKTYPE_ETHERNET = 1;

/** The frames of a pcap file written with `--time-stamp-precision=nano` on an Ethernet link. */
export function readPcap(file: Buffer): Frame[] {
  if (file.length < 24) throw new Error('[lab] pcap: shorter than its header');
  const le = file.readUInt32LE(0) === PCAP_NANO_MAGIC;
  if (!le && file.readUInt32BE(0) !== PCAP_NANO_MAGIC) {
    throw new Error('[lab] pcap: not a nanosecond capture (tcpdump --time-stamp-precision=nano)');
  }
  const u32 = (at: number) => (le ? file.readUInt32LE(at) : file.readUInt32BE(at));
  if (u32(20) !== LINKTYPE_ETHERNET) throw new Error(`[lab] pcap: link type ${u32(20)}, not Ethernet`);
  const frames: Frame[] = [];
  // A record cut short by tcpdump's end is left out.
  for (let at = 24; at + 16 <= file.length; ) {
    const length = u32(at + 8);
    if (at + 16 + length > file.length) break;
    frames.push({
      ns: BigInt(u32(at)) * 1_000_000_000n + BigInt(u32(at + 4)),
      bytes: file.subarray(at + 16, at + 16 + length),
    });
    at += 16 + length;
  }
  return frames;
}

/**
 * The identity of a probe as both a prober's result and the wire give it: protocol (as the contract names it),
 * the `rid` (ICMP id, or the prober's source port) and the 16-bit seq.
 */
export function probeKey(protocol: string, rid: number, seq: number): string {
  return `${protocol}/${rid}/${seq}`;
}

/** Where one frame sits in a probe's exchange: a request out, or an answer in, under its {@link probeKey}. */
interface Leg {
  key: string;
  out: boolean;
}

/**
 * The request or answer a frame carries, or undefined for anything else. `agent` is the prober's address of the
 * frame's family: frames from it are requests.
 */
function legOf(frame: Buffer, agent: { v4: string; v6: string }): Leg | undefined {
  if (frame.length < 14) return undefined;
  const type = frame.readUInt16BE(12);
  let proto: number;
  let src: string;
  let at: number;
  let suffix: string;
  if (type === 0x0800) {
    const ihl = (frame[14]! & 0x0f) * 4;
    proto = frame[14 + 9]!;
    src = [...frame.subarray(26, 30)].join('.');
    at = 14 + ihl;
    suffix = '';
  } else if (type === 0x86dd) {
    proto = frame[14 + 6]!;
    src = formatIpv6(frame, 22);
    at = 54;
    suffix = '6';
  } else {
    return undefined;
  }
  const out = src === (suffix ? agent.v6 : agent.v4);
  if (frame.length < at + 8) return undefined;
  if (proto === 1 || proto === 58) {
    const t = frame[at]!;
    const request = proto === 1 ? 8 : 128;
    const reply = proto === 1 ? 0 : 129;
    if (t !== (out ? request : reply)) return undefined;
    return { key: probeKey(`icmp${suffix}`, frame.readUInt16BE(at + 4), frame.readUInt16BE(at + 6)), out };
  }
  if (proto === 17) {
    const payload = at + 8;
    if (!isProbePayload(frame, payload)) return undefined;
    const port = frame.readUInt16BE(out ? at : at + 2);
    return { key: probeKey(`udp${suffix}`, port, probeSeq(frame, payload)), out };
  }
  if (proto === 6 && frame.length >= at + 20) {
    const flags = frame[at + 13]!;
    if (out) {
      if ((flags & 0x12) !== 0x02) return undefined; // a SYN, not a SYN-ACK
      return { key: probeKey(`tcp${suffix}`, frame.readUInt16BE(at), frame.readUInt16BE(at + 6)), out };
    }
    if ((flags & 0x10) === 0) return undefined; // SYN-ACK or RST, acknowledging the SYN
    const isn = (frame.readUInt32BE(at + 8) - 1) >>> 0;
    return { key: probeKey(`tcp${suffix}`, frame.readUInt16BE(at + 2), isn & 0xffff), out };
  }
  return undefined;
}

/**
 * Each probe's RTT on the wire, µs (ns in the fraction), by {@link probeKey}: from its request's first
 * appearance to the first answer after it.
 */
export function wireRtts(frames: readonly Frame[], agent: { v4: string; v6: string }): Map<string, number> {
  const sent = new Map<string, bigint>();
  const rtts = new Map<string, number>();
  for (const { ns, bytes } of frames) {
    const leg = legOf(bytes, agent);
    if (!leg) continue;
    if (leg.out) {
      if (!sent.has(leg.key)) sent.set(leg.key, ns);
    } else {
      const at = sent.get(leg.key);
      if (at !== undefined && !rtts.has(leg.key)) rtts.set(leg.key, Number(ns - at) / 1000);
    }
  }
  return rtts;
}
