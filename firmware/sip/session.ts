// What the user agent asks of the call it carries: the SDP of the media session, and what
// happened to the call. The call core (firmware/call/) implements it; the user agent never
// looks inside an SDP body itself.

// Why a call ended (reported with the SIP status, where there was one).
export const END_LOCAL_HANGUP: i32 = 1;   // we sent BYE or CANCEL
export const END_REMOTE_HANGUP: i32 = 2;  // the peer sent BYE or CANCEL
export const END_REJECTED: i32 = 3;       // a final non-2xx to our INVITE (busy, declined, not found...)
export const END_TIMEOUT: i32 = 4;        // no answer to our INVITE, or no ACK to our 2xx
export const END_MEDIA: i32 = 5;          // the SDP could not be agreed (488), or media ended it
export const END_AUTH: i32 = 6;           // the proxy refused our credentials
export const END_NETWORK: i32 = 7;        // the request could not be sent (no route, no address)
export const END_CONSENT: i32 = 8;        // media consent lost (RFC 7675): the path stopped answering for 30 s
export const END_ICE_FAILED: i32 = 9;     // no candidate pair worked

export abstract class SessionHandler {
  /** Writes our SDP offer (INVITE, re-INVITE, or a 2xx to an offerless INVITE). Length, or -1. */
  abstract offer(out: usize, cap: i32, hold: bool): i32;
  /** Answers the peer's offer into out: the length, or the negative SIP status to refuse it with (-488). */
  abstract answer(offer: usize, len: i32, out: usize, cap: i32): i32;
  /** The answer to our offer arrived: 0, or a negative status (the user agent then ends the call). */
  abstract answered(answer: usize, len: i32): i32;
  /** An INVITE arrived: ring, or answer after `autoAnswerMs` (-1: never on its own). */
  abstract incoming(autoAnswerMs: i32): void;
  /** The far end is ringing (18x). */
  abstract ringing(): void;
  /** Both sides agreed: media flows. */
  abstract established(): void;
  /** Whether the media side can answer now (ICE gathering done); the 2xx waits until it can. */
  mediaReady(): bool { return true; }
  /** The call is over. */
  abstract ended(reason: i32, status: i32): void;
}
