import { AuthApiError, SIGN_OUT_CODES } from "./errors.js";
import type { StorageAdapter } from "./storage.js";
import type { TokenPair } from "./types.js";

export type AuthEvent = "SIGNED_IN" | "TOKEN_REFRESHED" | "SIGNED_OUT";

/** Why the pair went away, for `SIGNED_OUT`. */
export type SignOutReason =
  | "logout"
  | "refresh_token_reused"
  | "invalid_refresh_token"
  | "session_ended"
  | "revoked"
  | "other_tab";

export interface AuthChange {
  event: AuthEvent;
  pair: TokenPair | null;
  reason?: SignOutReason;
}

export type AuthListener = (change: AuthChange) => void;

interface LockManagerLike {
  request<T>(name: string, callback: () => Promise<T>): Promise<T>;
}

function webLocks(): LockManagerLike | null {
  const nav = (globalThis as { navigator?: { locks?: LockManagerLike } }).navigator;
  return nav?.locks && typeof nav.locks.request === "function" ? nav.locks : null;
}

/**
 * The last rotation made under the lock, kept in IndexedDB: `localStorage` reaches other tabs
 * asynchronously, so the tab granted the lock next may still read the old pair there, while an
 * IndexedDB transaction committed before the lock was released is seen by every tab.
 */
interface RotationJournal {
  read(key: string): Promise<{ from: string; to: TokenPair } | null>;
  write(key: string, from: string, to: TokenPair): Promise<void>;
}

function indexedDbJournal(): RotationJournal | null {
  const idb = (globalThis as { indexedDB?: IDBFactory }).indexedDB;
  if (!idb) return null;
  let opened: Promise<IDBDatabase> | null = null;
  const open = (): Promise<IDBDatabase> =>
    (opened ??= new Promise((resolve, reject) => {
      const request = idb.open("authspec-client", 1);
      request.onupgradeneeded = () => request.result.createObjectStore("rotations");
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    }));
  const run = async <T>(mode: IDBTransactionMode, act: (store: IDBObjectStore) => IDBRequest<T>): Promise<T> => {
    const db = await open();
    return new Promise((resolve, reject) => {
      const tx = db.transaction("rotations", mode);
      const request = act(tx.objectStore("rotations"));
      tx.oncomplete = () => resolve(request.result);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error);
    });
  };
  return {
    async read(key) {
      try {
        const found = (await run("readonly", (store) => store.get(key))) as { from?: unknown; to?: unknown } | undefined;
        const to = parsePair(typeof found?.to === "string" ? found.to : null);
        return typeof found?.from === "string" && to ? { from: found.from, to } : null;
      } catch {
        return null; // no journal (private mode, quota): the storage alone decides, as without locks
      }
    },
    async write(key, from, to) {
      try {
        await run("readwrite", (store) => store.put({ from, to: JSON.stringify(to) }, key));
      } catch {
        // as above: without the journal a waiting tab may still see the rotation through the storage
      }
    },
  };
}

function parsePair(text: string | null): TokenPair | null {
  if (!text) return null;
  try {
    const value = JSON.parse(text) as Partial<TokenPair>;
    return typeof value.accessToken === "string" && typeof value.refreshToken === "string"
      ? (value as TokenPair)
      : null;
  } catch {
    return null;
  }
}

/** The `sid` claim of an access token (the session it belongs to), or null. */
export function sessionIdOf(accessToken: string): string | null {
  const part = accessToken.split(".")[1];
  if (!part) return null;
  try {
    const base64 = part.replace(/-/g, "+").replace(/_/g, "/");
    const claims = JSON.parse(atob(base64 + "=".repeat((4 - (base64.length % 4)) % 4))) as { sid?: unknown };
    return typeof claims.sid === "string" ? claims.sid : null;
  } catch {
    return null;
  }
}

/**
 * Keeps the pair in its storage and rotates it at most once per stale pair.
 *
 * Single flight: in a page, every caller that finds the same stale pair shares one refresh
 * promise. Across tabs of a shared storage the refresh runs under the Web Lock
 * `authspec-refresh:<key>`; whoever gets the lock second re-reads the storage, finds the pair
 * already rotated and adopts it, so a rotated refresh token is never presented again. Without
 * Web Locks, the storage is re-read just before rotating (the server's grace window covers
 * the remaining race).
 */
export class SessionManager {
  private inflight: { stale: string; promise: Promise<TokenPair> } | null = null;
  private readonly listeners = new Set<AuthListener>();
  private known: string | null = null;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly storage: StorageAdapter,
    private readonly key: string,
    private readonly rotate: (refreshToken: string) => Promise<TokenPair>,
  ) {
    this.unsubscribe = storage.subscribe?.(key, (value) => this.observe(parsePair(value))) ?? (() => {});
  }

  /**
   * What this tab learns of the stored pair, from another tab's write or its own read: one event
   * per change it had not seen yet, whichever way it learns of it first (the storage event and a
   * read after the refresh lock arrive in either order).
   */
  private observe(pair: TokenPair | null): void {
    const had = this.known;
    this.known = pair?.refreshToken ?? null;
    if (!pair && had) this.emit({ event: "SIGNED_OUT", pair: null, reason: "other_tab" });
    else if (pair && !had) this.emit({ event: "SIGNED_IN", pair });
    else if (pair && had !== pair.refreshToken) this.emit({ event: "TOKEN_REFRESHED", pair });
  }

  onChange(listener: AuthListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(change: AuthChange): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(change);
      } catch (error) {
        // A listener's bug must not break the call that triggered it.
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }

  async getPair(): Promise<TokenPair | null> {
    const pair = parsePair(await this.storage.getItem(this.key));
    // The first read learns the pair silently; a later one that finds another tab's pair reports it.
    if (this.known === null) this.known = pair?.refreshToken ?? null;
    else this.observe(pair);
    return pair;
  }

  async setPair(pair: TokenPair, event: AuthEvent = "SIGNED_IN"): Promise<void> {
    await this.storage.setItem(this.key, JSON.stringify(pair));
    const seen = this.known === pair.refreshToken;
    this.known = pair.refreshToken;
    // A refreshed pair this tab already reported (adopted from another tab's rotation) is not news.
    if (event !== "TOKEN_REFRESHED" || !seen) this.emit({ event, pair });
  }

  /** Clears the pair, unless it has meanwhile been replaced by another one (`only` given). */
  async clear(reason: SignOutReason, only?: TokenPair): Promise<void> {
    const current = await this.getPair();
    if (!current) return;
    if (only && current.refreshToken !== only.refreshToken) return;
    await this.storage.removeItem(this.key);
    this.known = null;
    this.emit({ event: "SIGNED_OUT", pair: null, reason });
  }

  /**
   * A fresh pair to replace `stale` (the pair a call found expired, or the current one). If the
   * storage already holds another pair, that one is adopted without calling the server.
   */
  refresh(stale?: TokenPair): Promise<TokenPair> {
    const staleToken = stale?.refreshToken ?? null;
    if (this.inflight && (staleToken === null || this.inflight.stale === staleToken)) return this.inflight.promise;
    const promise = this.refreshOnce(staleToken).finally(() => {
      if (this.inflight?.promise === promise) this.inflight = null;
    });
    this.inflight = { stale: staleToken ?? "", promise };
    return promise;
  }

  private async refreshOnce(staleToken: string | null): Promise<TokenPair> {
    const locks = this.storage.shared ? webLocks() : null;
    if (!locks) return this.rotateUnlessRotated(staleToken, null);
    const journal = indexedDbJournal();
    return locks.request(`authspec-refresh:${this.key}`, () => this.rotateUnlessRotated(staleToken, journal));
  }

  private async rotateUnlessRotated(staleToken: string | null, journal: RotationJournal | null): Promise<TokenPair> {
    const current = await this.getPair();
    if (current && journal) {
      // Another tab may have rotated this very pair while we waited for the lock.
      const last = await journal.read(this.key);
      if (last && last.from === current.refreshToken && (staleToken === null || staleToken === last.from)) {
        await this.setPair(last.to, "TOKEN_REFRESHED");
        return last.to;
      }
    }
    if (!current) {
      throw new AuthApiError({ status: 401, errorCode: "session_ended", operation: "refreshToken",
        errors: ["No session: sign in first."] });
    }
    if (staleToken !== null && current.refreshToken !== staleToken) return current; // rotated elsewhere
    let fresh: TokenPair;
    try {
      fresh = await this.rotate(current.refreshToken);
    } catch (error) {
      if (error instanceof AuthApiError && error.errorCode === "network_error") {
        // The answer may have been lost after the server rotated: one retry at once lands in the
        // server's grace window and receives the same successor pair.
        try {
          fresh = await this.rotate(current.refreshToken);
        } catch (again) {
          await this.signOutOn(again, current);
          throw again;
        }
      } else {
        await this.signOutOn(error, current);
        throw error;
      }
    }
    await journal?.write(this.key, current.refreshToken, fresh);
    await this.setPair(fresh, "TOKEN_REFRESHED");
    return fresh;
  }

  async signOutOn(error: unknown, pair: TokenPair): Promise<void> {
    if (error instanceof AuthApiError && SIGN_OUT_CODES.has(error.errorCode)) {
      await this.clear(error.errorCode as SignOutReason, pair);
    }
  }

  dispose(): void {
    this.unsubscribe();
    this.listeners.clear();
  }
}
