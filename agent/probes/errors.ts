/** Errors of the probe engine. Messages carry the `[probes]` prefix; `cause` keeps the socket's own error. */

/** The process may not open raw sockets: it needs root or CAP_NET_RAW. */
export class RawSocketPermissionError extends Error {
  override name = 'RawSocketPermissionError';
  constructor(cause: unknown) {
    super(
      '[probes] raw sockets need root or the CAP_NET_RAW capability. Grant it to node with ' +
        '`sudo setcap cap_net_raw+ep "$(readlink -f "$(which node)")"`, run as root, or under systemd set ' +
        '`AmbientCapabilities=CAP_NET_RAW`.',
      { cause },
    );
  }
}

/** A raw socket could not be opened or configured for another reason. */
export class RawSocketError extends Error {
  override name = 'RawSocketError';
}

/** A probe was asked for with values the engine cannot send (validated input should never get here). */
export class ProbeInputError extends Error {
  override name = 'ProbeInputError';
}
