/**
 * `--listen` parsing: `:PORT`, `HOST:PORT`, `[IPv6]:PORT`, or a bare `HOST` (port 10001).
 */
import { CliExit } from './context.js';

export const DEFAULT_PORT = 10001;

export interface ListenAddress {
  /** undefined: every interface (dual-stack where the OS allows). */
  host: string | undefined;
  port: number;
}

export function parseListen(value: string): ListenAddress {
  const v = value.trim();
  let host: string | undefined;
  let portText: string | undefined;
  if (v.startsWith('[')) {
    const end = v.indexOf(']');
    if (end < 0) throw badListen(value);
    host = v.slice(1, end);
    const rest = v.slice(end + 1);
    if (rest !== '' && !rest.startsWith(':')) throw badListen(value);
    portText = rest === '' ? undefined : rest.slice(1);
  } else {
    const colon = v.lastIndexOf(':');
    if (colon >= 0 && v.indexOf(':') !== colon) throw badListen(value); // bare IPv6 needs brackets
    host = colon < 0 ? v : v.slice(0, colon);
    portText = colon < 0 ? undefined : v.slice(colon + 1);
  }
  if (host === '') host = undefined;
  const port = portText === undefined ? DEFAULT_PORT : Number(portText);
  if (portText !== undefined && (!/^\d+$/.test(portText) || port > 65535)) throw badListen(value);
  return { host, port };
}

function badListen(value: string): CliExit {
  return new CliExit(`Invalid --listen address '${value}': use :PORT, HOST:PORT or [IPv6]:PORT`, 2);
}

/** The URL a client on this machine can use to reach the server. */
export function clientEndpoint(host: string | undefined, port: number, scheme = 'http'): string {
  let h = host;
  if (h === undefined || h === '0.0.0.0' || h === '::') h = '127.0.0.1';
  if (h.includes(':')) h = `[${h}]`;
  return `${scheme}://${h}:${port}`;
}
