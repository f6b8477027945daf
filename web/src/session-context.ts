/** The signed-in session the pages share: the API client and what the token may do. */
import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { Api } from './api.js';

export interface Session {
  api: Api;
  /** `read` tokens see everything and change nothing; the pages hide their edit controls. */
  kind: 'admin' | 'read';
  signOut: () => void;
}

export const SessionContext = createContext<Session | null>(null);

/** The session; only rendered inside a signed-in shell. */
export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error('[web] useSession outside a signed-in session');
  return s;
}
