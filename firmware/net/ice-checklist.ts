// The check list of one ICE stream with one component (RFC 8445 6.1.2-6.1.4): candidate pairs
// in priority order, their states, the frozen/waiting rule by foundation, the triggered-check
// queue, and the choice of what to check next. It knows nothing of STUN: the agent
// (ice-agent.ts) sends the checks and reports their results here.

import { IceCandidate, CAND_SRFLX, pairPriority } from "./ice-candidate";
import { sockaddrEquals } from "../lib/inet";

export const PAIR_FROZEN: i32 = 0;
export const PAIR_WAITING: i32 = 1;
export const PAIR_IN_PROGRESS: i32 = 2;
export const PAIR_SUCCEEDED: i32 = 3;
export const PAIR_FAILED: i32 = 4;

export class IcePair {
  local: i32 = -1;          // index into the agent's local candidates (a host or relay base)
  remote: i32 = -1;         // index into its remote candidates
  priority: u64 = 0;
  state: i32 = PAIR_FROZEN;
  valid: bool = false;      // a check on it succeeded (7.2.5.3.2)
  nominated: bool = false;
  useCandidateSeen: bool = false; // controlled side: the peer asked to nominate it
  nominating: bool = false;       // controlling side: a USE-CANDIDATE check is out on it
  transaction: i32 = -1;          // StunClient slot of its check in flight
  triggered: bool = false;

  clear(): void {
    this.local = -1; this.remote = -1; this.priority = 0; this.state = PAIR_FROZEN;
    this.valid = false; this.nominated = false; this.useCandidateSeen = false; this.nominating = false;
    this.transaction = -1; this.triggered = false;
  }
}

export class IceChecklist {
  readonly pairs: StaticArray<IcePair>;
  count: i32 = 0;
  private readonly queue: StaticArray<i32>;   // triggered checks, oldest first
  private queued: i32 = 0;

  constructor(readonly capacity: i32) {
    const pairs = new StaticArray<IcePair>(capacity);
    for (let i = 0; i < capacity; i++) unchecked(pairs[i] = new IcePair());
    this.pairs = pairs;
    this.queue = new StaticArray<i32>(capacity);
  }

  @inline at(i: i32): IcePair { return unchecked(this.pairs[i]); }

  clear(): void {
    for (let i = 0; i < this.count; i++) this.at(i).clear();
    this.count = 0;
    this.queued = 0;
  }

  /** The pair of these two candidates, or -1. */
  find(local: i32, remote: i32): i32 {
    for (let i = 0; i < this.count; i++) { const p = this.at(i); if (p.local == local && p.remote == remote) return i; }
    return -1;
  }

  /**
   * Adds the pair (local, remote) unless it is there already or the list is full: its index, or
   * -1. Local candidates are bases (host or relay): a server-reflexive one is sent from its base,
   * so pairing the base covers it (6.1.2.4's pruning, done as pairs are formed).
   */
  add(locals: StaticArray<IceCandidate>, local: i32, remotes: StaticArray<IceCandidate>, remote: i32, controlling: bool): i32 {
    const l = unchecked(locals[local]);
    const r = unchecked(remotes[remote]);
    if (l.type == CAND_SRFLX || l.component != r.component) return -1;
    if (load<u8>(l.addressPtr) != load<u8>(r.addressPtr)) return -1; // IPv4 with IPv4, IPv6 with IPv6
    const existing = this.find(local, remote);
    if (existing >= 0) return existing;
    // Two remote candidates with one address (a srflx equal to a host, say): one pair suffices.
    for (let i = 0; i < this.count; i++) {
      const p = this.at(i);
      if (p.local == local && sockaddrEquals(unchecked(remotes[p.remote]).addressPtr, r.addressPtr)) return i;
    }
    if (this.count == this.capacity) return -1;
    const p = this.at(this.count++);
    p.clear();
    p.local = local;
    p.remote = remote;
    p.priority = controlling ? pairPriority(l.priority, r.priority) : pairPriority(r.priority, l.priority);
    p.state = PAIR_FROZEN;
    return this.count - 1;
  }

  /** After the list is formed: the best pair of each foundation pair waits, the rest freeze (6.1.2.6). */
  unfreezeInitial(locals: StaticArray<IceCandidate>, remotes: StaticArray<IceCandidate>): void {
    for (let i = 0; i < this.count; i++) {
      const p = this.at(i);
      if (p.state != PAIR_FROZEN) continue;
      let best = true;
      for (let j = 0; j < this.count; j++) {
        if (j == i) continue;
        const q = this.at(j);
        if (q.priority > p.priority && sameFoundations(locals, remotes, p, q)) { best = false; break; }
      }
      if (best) p.state = PAIR_WAITING;
    }
  }

  /** A check on pair i succeeded: the frozen pairs of the same foundations may go (7.2.5.3.3). */
  unfreezeLike(i: i32, locals: StaticArray<IceCandidate>, remotes: StaticArray<IceCandidate>): void {
    const p = this.at(i);
    for (let j = 0; j < this.count; j++) {
      const q = this.at(j);
      if (q.state == PAIR_FROZEN && sameFoundations(locals, remotes, p, q)) q.state = PAIR_WAITING;
    }
  }

  /** Roles changed (a conflict repaired): pair priorities follow (7.2.5.1). */
  reprioritise(locals: StaticArray<IceCandidate>, remotes: StaticArray<IceCandidate>, controlling: bool): void {
    for (let i = 0; i < this.count; i++) {
      const p = this.at(i);
      const l = unchecked(locals[p.local]).priority;
      const r = unchecked(remotes[p.remote]).priority;
      p.priority = controlling ? pairPriority(l, r) : pairPriority(r, l);
    }
  }

  /** Puts pair i on the triggered queue (7.3.1.4) unless it is there. */
  trigger(i: i32): void {
    const p = this.at(i);
    if (p.triggered || this.queued == this.capacity) return;
    p.triggered = true;
    unchecked(this.queue[this.queued++] = i);
    if (p.state == PAIR_FROZEN || p.state == PAIR_FAILED) p.state = PAIR_WAITING;
  }

  /** The next pair to check (6.1.4.2): a triggered one, else the best waiting one, else a frozen one woken. -1: none. */
  next(locals: StaticArray<IceCandidate>, remotes: StaticArray<IceCandidate>): i32 {
    if (this.queued > 0) {
      const i = unchecked(this.queue[0]);
      for (let k = 1; k < this.queued; k++) unchecked(this.queue[k - 1] = this.queue[k]);
      this.queued--;
      this.at(i).triggered = false;
      return i;
    }
    let best = -1;
    for (let i = 0; i < this.count; i++) {
      const p = this.at(i);
      if (p.state == PAIR_WAITING && (best < 0 || p.priority > this.at(best).priority)) best = i;
    }
    if (best >= 0) return best;
    // No waiting pair: wake the best frozen pair whose foundations have nothing waiting or in progress.
    for (let i = 0; i < this.count; i++) {
      const p = this.at(i);
      if (p.state != PAIR_FROZEN || (best >= 0 && p.priority <= this.at(best).priority)) continue;
      let busy = false;
      for (let j = 0; j < this.count; j++) {
        const q = this.at(j);
        if ((q.state == PAIR_WAITING || q.state == PAIR_IN_PROGRESS) && sameFoundations(locals, remotes, p, q)) { busy = true; break; }
      }
      if (!busy) best = i;
    }
    return best;
  }

  /** The best valid pair, or -1. */
  bestValid(): i32 {
    let best = -1;
    for (let i = 0; i < this.count; i++) {
      const p = this.at(i);
      if (p.valid && (best < 0 || p.priority > this.at(best).priority)) best = i;
    }
    return best;
  }

  /** Whether a pair better than `than` may still succeed (not failed, not yet valid). */
  betterPending(than: i32): bool {
    const limit = this.at(than).priority;
    for (let i = 0; i < this.count; i++) {
      const p = this.at(i);
      if (p.priority > limit && !p.valid && p.state != PAIR_FAILED) return true;
    }
    return false;
  }

  /** Every pair is done: succeeded or failed. */
  get finished(): bool {
    for (let i = 0; i < this.count; i++) { const s = this.at(i).state; if (s != PAIR_SUCCEEDED && s != PAIR_FAILED) return false; }
    return true;
  }
}

function sameFoundations(locals: StaticArray<IceCandidate>, remotes: StaticArray<IceCandidate>, p: IcePair, q: IcePair): bool {
  return sameFoundation(unchecked(locals[p.local]), unchecked(locals[q.local])) && sameFoundation(unchecked(remotes[p.remote]), unchecked(remotes[q.remote]));
}

function sameFoundation(a: IceCandidate, b: IceCandidate): bool {
  return a.foundationLength == b.foundationLength
    && memory.compare(changetype<usize>(a.foundation), changetype<usize>(b.foundation), <usize>a.foundationLength) == 0;
}
