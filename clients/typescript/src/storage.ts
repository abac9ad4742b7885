/**
 * Where the session manager keeps the token pair. `getItem`/`setItem`/`removeItem` may be sync or
 * async (so React Native's AsyncStorage fits); `subscribe` reports changes made by other tabs.
 */
export interface StorageAdapter {
  getItem(key: string): string | null | Promise<string | null>;
  setItem(key: string, value: string): void | Promise<void>;
  removeItem(key: string): void | Promise<void>;
  /** Called with the new value (null when removed) when another tab or process changes `key`. */
  subscribe?(key: string, listener: (value: string | null) => void): () => void;
  /** True when several tabs share this storage: refreshes are then coordinated across tabs. */
  readonly shared?: boolean;
}

/** The default: a pair that lives as long as the client object (one tab, one process). */
export function memoryStorage(): StorageAdapter {
  const items = new Map<string, string>();
  return {
    getItem: (key) => items.get(key) ?? null,
    setItem: (key, value) => void items.set(key, value),
    removeItem: (key) => void items.delete(key),
    shared: false,
  };
}

/**
 * `window.localStorage` (or any Web Storage): shared by every tab of the origin, which learns of
 * the other tabs' changes through the `storage` event.
 */
export function localStorageAdapter(storage?: Storage, target?: EventTarget): StorageAdapter {
  const store = storage ?? globalThis.localStorage;
  if (!store) throw new TypeError("localStorageAdapter: no localStorage in this environment");
  const events = target ?? (typeof window === "undefined" ? undefined : window);
  return {
    getItem: (key) => store.getItem(key),
    setItem: (key, value) => store.setItem(key, value),
    removeItem: (key) => store.removeItem(key),
    shared: true,
    subscribe(key, listener) {
      if (!events) return () => {};
      const handler = (event: Event): void => {
        const change = event as StorageEvent;
        if (change.storageArea !== store) return;
        if (change.key === key || change.key === null) listener(store.getItem(key));
      };
      events.addEventListener("storage", handler);
      return () => events.removeEventListener("storage", handler);
    },
  };
}
