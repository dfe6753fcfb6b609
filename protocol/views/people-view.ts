/**
 * The signed-in person as the HTTP API tells it (GET /api/me, /api/auth/session): the cloud builds
 * these, the console reads them.
 */
import type { Role } from '../roles.js';

export interface SignedInAccount {
  id: string;
  name: string;
  role: Role;
  schoolId: string | null;
  teamId: string | null;
  mustChangePassword: boolean;
}

/** Who is signed in and where they see: their schools (null: every school) and the time zone their times are shown in. */
export interface MeView {
  account: SignedInAccount;
  schools: string[] | null;
  timeZone: string;
  /** Only to the console's own session (a cookie): the token its changes carry. */
  csrfToken?: string;
}

/** POST /api/auth/session: the console's sign-in (the session itself is in the HttpOnly cookie). */
export interface ConsoleSignIn {
  account: SignedInAccount;
  expiresAt: string;
  idleMinutes: number;
  csrfToken: string;
}
