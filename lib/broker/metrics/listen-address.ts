/** The `--metrics` argument: where the metrics server listens. */
import { isIPv4, isIPv6 } from 'node:net';
import { InvalidArgumentError } from '../../errors/index';

/** Where to listen: a TCP host and port, or a Unix socket path. */
export type MetricsListenAddress =
  | { readonly kind: 'tcp'; readonly host: string; readonly port: number }
  | { readonly kind: 'unix'; readonly path: string };

/** sun_path holds 108 bytes on Linux, the last one NUL. */
const MAX_UNIX_PATH_BYTES = 107;

const FORMS =
  'HOST:PORT (an IPv4 address), [IPv6]:PORT, :PORT (127.0.0.1) or an absolute socket path';

/**
 * Reads `--metrics`: `HOST:PORT` with an IPv4 address, `[v6]:PORT`, `:PORT`
 * (meaning 127.0.0.1: metrics stay local unless asked otherwise), or an
 * absolute Unix socket path. Port 0 asks the system for a free port.
 *
 * @param where - The argument as given.
 * @throws InvalidArgumentError - For anything else, naming the forms it takes.
 */
export function parseMetricsAddress(where: string): MetricsListenAddress {
  const bad = (why: string): InvalidArgumentError =>
    new InvalidArgumentError(`--metrics ${JSON.stringify(where)}: ${why}; expected ${FORMS}`);
  if (where.startsWith('/')) {
    if (where.includes('\0')) throw bad('a socket path cannot hold NUL');
    if (where.endsWith('/')) throw bad('a socket path names a file, not a directory');
    if (Buffer.byteLength(where) > MAX_UNIX_PATH_BYTES)
      throw bad(`a socket path is at most ${MAX_UNIX_PATH_BYTES} bytes`);
    return { kind: 'unix', path: where };
  }
  const colon = where.lastIndexOf(':');
  if (colon < 0) throw bad('no port (and not an absolute path)');
  const hostPart = where.slice(0, colon);
  const portPart = where.slice(colon + 1);
  if (!/^[0-9]{1,5}$/.test(portPart) || Number(portPart) > 65535)
    throw bad('the port is not a number from 0 to 65535');
  const port = Number(portPart);
  if (hostPart === '') return { kind: 'tcp', host: '127.0.0.1', port };
  if (hostPart.startsWith('[') && hostPart.endsWith(']')) {
    const host = hostPart.slice(1, -1);
    if (!isIPv6(host)) throw bad(`${JSON.stringify(host)} is not an IPv6 address`);
    return { kind: 'tcp', host, port };
  }
  if (isIPv6(hostPart)) throw bad('an IPv6 address goes in brackets: [::1]:9464');
  if (!isIPv4(hostPart))
    throw bad(`${JSON.stringify(hostPart)} is not an IPv4 address (host names are not looked up)`);
  return { kind: 'tcp', host: hostPart, port };
}

/**
 * How a listening address is shown: `host:port`, `[v6]:port`, or the path.
 *
 * @param address - What the server listens on now (with its real port).
 */
export function formatMetricsAddress(address: MetricsListenAddress): string {
  if (address.kind === 'unix') return address.path;
  return isIPv6(address.host)
    ? `[${address.host}]:${address.port}`
    : `${address.host}:${address.port}`;
}
