// The simulated board's TLS client (boards/ABI.md `tls_connect`): node:tls over a real TCP
// connection, presenting the IDENTITY record's certificate chain with the secure element's key
// for its slot, and trusting a server only when it chains to one of the record's trust anchors
// and matches the name asked for. The socket joins the TCP table, so tcp_send, tcp_close,
// tcp_peer and on_tcp treat it as any other connection, in plaintext.
//
// The key leaves the secure element only as a KeyObject handed to node:tls in this process:
// never through a HAL call, a log line or a file.

import net from "node:net";
import tls from "node:tls";
import { X509Certificate } from "node:crypto";
import { ERR } from "./abi.ts";
import type { SecureElement } from "./secure-element.ts";
import type { TcpTable, TcpDestination } from "./tcp.ts";
import { decodeIdentityRecord, type IdentityRecord } from "../provision/record.ts";

/** Longest server name tls_connect takes (a DNS name's limit). */
export const TLS_NAME_MAX = 253;

/** Where the IDENTITY record comes from: the board's identity partition (host-tools/sim/identity.ts). */
export interface IdentitySource { record(): Buffer | undefined }

const LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/** The name as tls_connect takes it: a DNS name or an IP literal ("[v6]" too), or undefined. */
export function serverName(bytes: Uint8Array): { name: string; ip: boolean } | undefined {
  if (bytes.length === 0 || bytes.length > TLS_NAME_MAX || bytes.some((b) => b <= 0x20 || b >= 0x7f)) return undefined;
  let name = Buffer.from(bytes).toString("ascii");
  if (name.startsWith("[") && name.endsWith("]") && net.isIPv6(name.slice(1, -1))) name = name.slice(1, -1);
  if (net.isIP(name)) return { name, ip: true };
  const labels = (name.endsWith(".") ? name.slice(0, -1) : name).split(".");
  return labels.every((l) => LABEL.test(l)) && !/^[0-9.]+$/.test(name) ? { name: name.toLowerCase(), ip: false } : undefined;
}

export class TlsClient {
  constructor(
    private readonly tcp: TcpTable,
    private readonly identity: IdentitySource,
    private readonly se: SecureElement,
    /** Told why a connection failed (what a native TLS stack would log); the reason has no secrets. */
    private readonly onFailure: (handle: number, peer: string, reason: string) => void = () => {},
  ) {}

  /** tls_connect: a handle in the TCP handle space, or an ABI error. `name` empty: the address dialled. */
  connect(addr: Uint8Array, nameBytes: Uint8Array): number {
    const name = nameBytes.length === 0 ? undefined : serverName(nameBytes);
    if (nameBytes.length > 0 && !name) return ERR.INVALID;
    const raw = this.identity.record();
    if (!raw) return ERR.NOT_FOUND;
    let record: IdentityRecord;
    try {
      record = decodeIdentityRecord(raw);
    } catch {
      return ERR.IO; // the partition holds something that is not a record: the device is at fault
    }
    const key = this.se.tlsKey(record.keySlot);
    if (typeof key === "number") return key;
    if (!this.tcp.hasRoom()) return ERR.NO_SPACE;
    let context: tls.SecureContext;
    try {
      context = tls.createSecureContext({
        cert: record.certificates.map(pem).join(""),
        key: key.export({ format: "pem", type: "pkcs8" }),
        // An empty list trusts nothing (never the host's roots).
        ca: record.trustAnchors.map(pem),
        minVersion: "TLSv1.2",
        maxVersion: "TLSv1.3",
      });
    } catch {
      return ERR.IO; // a certificate that does not parse, or the key not the certificate's
    }
    let peer = "";
    return this.tcp.connectVia(addr, {
      readyEvent: "secureConnect",
      open: (dest: TcpDestination, localAddress: string) => {
        peer = dest.family === 6 ? `[${dest.address}]:${dest.port}` : `${dest.address}:${dest.port}`;
        const expected = name?.name ?? dest.address;
        // localAddress reaches net.connect (the board's own address), though the typings omit it.
        const options: tls.ConnectionOptions & { localAddress: string } = {
          host: dest.address,
          port: dest.port,
          localAddress,
          secureContext: context,
          // SNI carries DNS names only (RFC 6066 3); an IP literal is checked against the IP SANs.
          servername: name && !name.ip ? name.name : undefined,
          rejectUnauthorized: true,
          checkServerIdentity: (_host, cert) => tls.checkServerIdentity(expected, cert),
        };
        return tls.connect(options);
      },
      failed: (handle, e) => {
        const code = (e as NodeJS.ErrnoException).code;
        this.onFailure(handle, peer, code && !e.message.includes(code) ? `${e.message} (${code})` : e.message);
      },
    });
  }
}

function pem(der: Uint8Array): string { return new X509Certificate(der).toString(); }
