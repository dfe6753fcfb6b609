import { asTyped } from './runnable-command.js';

/**
 * Stable error codes. The CLI prints the message and the hint; the API maps the code to an HTTP
 * status. A code is never renamed: scripts and tickets refer to it.
 */
export const ERROR_CODES = {
  CONFIG_INVALID: { hint: 'Fix the named field in the configuration file, or remove the file to use defaults.' },
  CONFIG_UNREADABLE: { hint: 'Check that the configuration file exists and is readable by the avcare user.' },
  INVALID_TOPIC_ID: { hint: 'School, room and agent ids may hold letters, digits, ".", "_" and "-".' },
  INVALID_ARGUMENT: { hint: 'Run the command with --help to see the accepted forms.' },
  REPLAY_UNRECOGNISED: { hint: 'Pass the JSON printed by `avcare-agent probe --json` or the text of `lsusb -v`.' },
  REPLAY_INVALID: { hint: 'The file looks like an avcare inventory but does not match the schema; re-create it with `avcare-agent probe --json`.' },
  PROBE_TIMEOUT: { hint: 'The device or OS did not answer in time; check the cable and the probe timeout in the configuration.' },
  PROBE_FAILED: { hint: 'See the reason; the other probes of the cycle still ran.' },
  USB_UNAVAILABLE: { hint: 'This PC exposes no USB bus to the agent (no /sys/bus/usb); USB devices cannot be seen.' },
  SERIAL_OPEN_FAILED: { hint: 'Check the port path and that the avcare user is in the dialout group (`avcare-agent doctor`).' },
  SERIAL_IO_FAILED: { hint: 'Writing to the serial port failed: the USB-serial adapter may have been unplugged mid-cycle.' },
  VISCA_TIMEOUT: { hint: 'The camera did not answer: check power, the RS-232 cable or network, the baud rate (serial) or framing and port (IP), and the camera address.' },
  VISCA_CONNECT_FAILED: { hint: 'The camera refused or dropped the VISCA connection: check its address, the port (raw VISCA over TCP is often 5678) and that IP control is enabled in its menu.' },
  VISCA_GARBLED: { hint: 'The reply could not be parsed: check the baud rate and that the port is wired to a VISCA camera.' },
  VISCA_ERROR_REPLY: { hint: 'The camera answered with a VISCA error.' },
  PJLINK_CONNECT_FAILED: { hint: 'Check the projector address, that it is powered and that network standby is enabled.' },
  PJLINK_TIMEOUT: { hint: 'The projector accepted the connection but did not answer; projectors in eco-standby often stop answering.' },
  PJLINK_AUTH_FAILED: { hint: 'Set the projector\'s PJLink password in the configuration (pjlink[].password).' },
  PJLINK_REFUSED: { hint: 'The projector refused or dropped the PJLink connection: check that network control is enabled and that no other controller holds its session.' },
  PJLINK_PROTOCOL_ERROR: { hint: 'The device answered something that is not PJLink.' },
  ADB_UNREACHABLE: { hint: 'The headset did not answer over ADB: check that it is on and awake, on the same network (for a Wi-Fi headset, that `adb tcpip 5555` was run since its last reboot) or on the cart\'s USB hub, and that developer mode is on.' },
  ADB_COMMAND_FAILED: { hint: 'The headset answered some ADB commands but not all (it went to sleep, was unplugged or rebooted mid-probe); what was read is kept, the rest is read next cycle.' },
  PORT_IN_USE: { hint: 'Another program listens there (`ss -ltnp` shows which); choose a free port with the flag named.' },
  COLLECTOR_CLOSED: { hint: 'The collector is shutting down; the message stays with the broker or the agent and is delivered again.' },
  STORE_UNAVAILABLE: { hint: 'Check that the database is running and reachable (the --db option) and that the disk is not full.' },
  STATE_UNWRITABLE: { hint: 'Check that the agent\'s state directory is writable.' },
  CLOUD_UNREACHABLE: { hint: 'Check that `avcare-cloud start` runs there and the address is right (--url or AVCARE_CLOUD_URL).' },
  CLOUD_REQUEST_FAILED: { hint: 'The cloud refused the request; its message says why, and its log has the details.' },
  TICKET_NOT_FOUND: { hint: 'List tickets with `avcare-cloud tickets list` (or GET /api/tickets) to find its id.' },
  REPORT_INVALID: { hint: 'Describe the problem in quotes, in 1 to 2000 characters: avcare-agent report "the projector flickers". --device takes an id shown by `avcare-agent probe --json`; --by a name of at most 128 characters.' },
  TICKET_STATE_CONFLICT: { hint: 'A ticket moves open -> acknowledged -> in progress -> resolved -> closed; show it to see where it is now.' },
  UNAUTHENTICATED: { hint: 'Sign in first: `avcare-cloud login --url URL --user NAME` (the API wants "Authorization: Bearer TOKEN").' },
  CONSOLE_NOT_BUILT: { hint: 'Build the console with `npm run build` (npm start builds it), then restart avcare-cloud.' },
  CSRF_TOKEN_MISSING: { hint: 'The console sends its CSRF token with every change; reload the page (or sign in again). A script should use a bearer token instead of the cookie.' },
  FORBIDDEN: { hint: 'Your role does not allow this; the refusal says which role does.' },
  PASSWORD_CHANGE_REQUIRED: { hint: 'This password was set by someone else: choose your own with `avcare-cloud passwd` (or POST /api/auth/password) first.' },
  LOGIN_FAILED: { hint: 'Check the name and the password; an administrator can reset a forgotten password with `avcare-cloud users passwd NAME`.' },
  LOGIN_THROTTLED: { hint: 'Too many wrong passwords: wait the time named, or ask an administrator to reset the password.' },
  INSECURE_TRANSPORT: { hint: 'Passwords, tokens and enrollment travel only over TLS or from this machine: start the cloud with --tls-cert and --tls-key, or (on a trusted network only) --insecure-plaintext.' },
  ACCOUNT_EXISTS: { hint: 'Account names are unique (without regard to case): pick another name, or change the existing account.' },
  ACCOUNT_NOT_FOUND: { hint: 'List the accounts with `avcare-cloud users list` to find its name.' },
  ENROLL_TOKEN_UNKNOWN: { hint: 'Copy the token exactly as `avcare-cloud enroll-tokens create` printed it, and check that --cloud names the cloud that made it.' },
  ENROLL_TOKEN_EXPIRED: { hint: 'Ask the school admin for a new enrollment token (`avcare-cloud enroll-tokens create`).' },
  ENROLL_TOKEN_USED_UP: { hint: 'The token enrolled as many PCs as it allows; ask the school admin for a new one (--uses sets how many PCs one token enrolls).' },
  ENROLL_TOKEN_REVOKED: { hint: 'The school admin revoked this token; ask them for a new one.' },
  ENROLL_THROTTLED: { hint: 'Too many failed enrollments from this address: check the token and the --cloud address, and try again after the time named.' },
  ENROLL_NOT_SAME_PC: {
    hint: "Enroll again from the PC itself (avcare-agent enroll keeps its key in its state directory). If that PC's state was lost, the school admin revokes its old agent (avcare-cloud agents revoke ID) and the PC then joins as a new agent.",
  },
  ENROLL_TOKEN_NOT_FOUND: { hint: 'List the tokens with `avcare-cloud enroll-tokens list` to find its id.' },
  SCHOOL_NOT_FOUND: { hint: 'You see only the schools of your scope (your school, or your service team\'s regions); check the school id.' },
  REFLECTOR_EXISTS: { hint: 'A reflector id has one account at a time: `avcare-cloud reflectors revoke ID` stops the old one, then `reflectors add ID` issues a new secret.' },
  REFLECTOR_NOT_FOUND: { hint: 'List the reflector accounts with `avcare-cloud reflectors list`.' },
  AGENT_NOT_FOUND: { hint: 'List the agents you can see with `avcare-cloud agents list` (or GET /api/agents).' },
  AGENT_OFFLINE: { hint: 'The PC is off or cannot reach the cloud; its state says since when and why. Ask again once it is online.' },
  AGENT_NOT_ENROLLED: { hint: 'Enroll this PC first: `avcare-agent enroll --cloud URL --token TOKEN` (or `install.sh --cloud URL --token TOKEN`).' },
  AGENT_REVOKED: { hint: 'This agent was revoked in the cloud; enroll the PC again with a new token if it should report.' },
  BROKER_ACCESS_FAILED: { hint: 'The cloud could not set up the agent\'s broker access (Mosquitto dynamic security): check that the broker runs and the cloud\'s --broker-user may use $CONTROL/dynamic-security.' },
  MEASURE_REFUSED: { hint: 'The cloud or its reflector refused the test; the message says why. Check that the agent is enrolled and not revoked, and that the cloud runs a reflector (`avcare-cloud start` does unless --no-reflector).' },
  MEASURE_TIMEOUT: { hint: 'A step of the test did not happen in time: check that the agent is connected to its broker (`avcare-agent doctor`) and that UDP to the reflector is not blocked.' },
  MEASURE_NO_PATH: { hint: 'WebRTC media could not reach the reflector: the school network blocks or loses UDP to it. Ask the network admin to allow UDP to the reflector\'s address and ports.' },
  MEASURE_ABORTED: { hint: 'The test was stopped before it finished; run it again.' },
  MEASURE_FAILED: { hint: 'The test could not run on this PC; the message says why (the WebRTC library, the child process).' },
  SESSION_NOT_FOUND: { hint: 'List the sessions you can see: `avcare-agent consent list` on the PC, `avcare-cloud session list` (or GET /api/sessions) in the cloud.' },
  SESSION_STATE_CONFLICT: { hint: 'A session goes pending -> active -> closed, revoked or expired; only an active one runs commands. `avcare-cloud session show ID` shows where it is.' },
  SESSION_SCOPE_DENIED: { hint: 'The school granted only the actions the session lists; request a new session for others (camera snapshot and audio clip must be granted by name).' },
  SESSION_NOT_PENDING: { hint: 'Only a session waiting for an answer can be approved or denied; `avcare-agent consent list` shows each one\'s state.' },
  SESSION_APPROVAL_NOT_ALLOWED: { hint: 'The school\'s policy lets only its admins approve remote sessions (in the cloud); at the PC you can deny or revoke.' },
  ACTION_FAILED: { hint: 'The action ran but did not succeed; the message says why.' },
  ACTION_UNAVAILABLE: { hint: 'This agent version cannot do that action yet; update the agent (install.sh upgrades in place).' },
  MEASURE_BUSY: { hint: 'Another test is running on this PC; tests never overlap. Try again when it is done (a test takes under a minute).' },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class AvcareError extends Error {
  override readonly name = 'AvcareError';
  readonly code: ErrorCode;
  readonly context: Readonly<Record<string, unknown>>;
  /** A hint fitted to this case (the reader's role, what was looked for), instead of the code's general one. */
  readonly specificHint: string | undefined;

  constructor(code: ErrorCode, message: string, context: Record<string, unknown> = {}, options?: { cause?: unknown; hint?: string }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.context = context;
    this.specificHint = options?.hint;
  }

  get hint(): string {
    return this.specificHint ?? ERROR_CODES[this.code].hint;
  }
}

export function isAvcareError(error: unknown): error is AvcareError {
  return error instanceof AvcareError;
}

/**
 * How every avcare command reports a failure: the code, the message and the hint for an
 * AvcareError, the stack for anything else (a bug); the exit status becomes 1.
 */
export function reportCommandError(error: unknown, stderr: NodeJS.WritableStream = process.stderr): void {
  if (isAvcareError(error)) {
    // A command named in a hint is written the way it runs here (`npx avcare-cloud ...` in a clone).
    stderr.write(`error [${error.code}]: ${asTyped(error.message)}\nhint: ${asTyped(error.hint)}\n`);
  } else {
    stderr.write(`unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  }
  process.exitCode = 1;
}
