import type { Logger } from 'pino';
import { AvcareError, selfHelpFor, untrustedMultiline, untrustedText, type ReportMessage, type Severity } from '../../protocol/index.js';
import type { Dialect, SqlParam, SqlRunner } from '../store/dialect.js';
import type { ServiceDirectory } from './service-directory.js';
import { agentActions, describeFault, describeOffline, describeReport, ticketDevice } from './ticket-drafts.js';
import { HOUR_MS, MINUTE_MS, type TicketPolicy } from './ticket-policy.js';
import {
  AGENT_OFFLINE,
  TEACHER_REPORT,
  capabilityLost,
  codeInfo,
  decideForAgentState,
  decideForFault,
  holdElapsed,
  reopenWindowPassed,
  ticketSeverity,
  type TicketFacts,
  type TicketStatus,
} from './ticket-rules.js';
import type { Knowledge } from '../../protocol/views/ticket-view.js';
import { newTicketId, TicketStore, toTicket, type ResolutionReport, type ServiceOutcome, type ServiceRating, type Ticket, type TicketFilter, type TicketHistoryEntry, type TicketRow } from './ticket-store.js';
import { slaTimers, type SlaTimer, type SlaTimers } from './sla.js';
import { SqlWebhookQueue } from '../webhooks/sql-webhook-queue.js';
import { planWebhookDeliveries } from '../webhooks/webhook-endpoint.js';
import { RateLimitedLog } from '../collector/rate-limited-log.js';
import { eachLimited } from './each-limited.js';

/** Runs `work` school by school: up to `limit` schools at once, each school's items in order. */
async function eachSchool<T>(items: readonly T[], agentKeyOf: (item: T) => string, limit: number, work: (item: T) => Promise<void>): Promise<void> {
  const bySchool = new Map<string, T[]>();
  for (const item of items) {
    const key = agentKeyOf(item);
    const school = key.slice(0, key.indexOf(':'));
    const group = bySchool.get(school);
    if (group) group.push(item);
    else bySchool.set(school, [item]);
  }
  await eachLimited([...bySchool.values()], limit, async (group) => {
    for (const item of group) await work(item);
  });
}
import type { TeachingCapability } from './teaching-impact.js';

/** One fault of one agent, as the faults table keys it. */
export interface FaultKey {
  agentKey: string;
  code: string;
  deviceKey: string;
}

/** What a committed batch changed, for the engine to follow up. */
export interface TicketSubjects {
  faults: readonly FaultKey[];
  agents: readonly string[];
  /** Teachers' reports (`avcare-agent report`): each is a ticket of its own. */
  reports?: readonly { agentKey: string; eventId: string }[];
}

export interface TicketEngineOptions {
  db: Dialect;
  directory: ServiceDirectory;
  log: Logger;
  /** How often time-driven rules run (hold, reopen window, offline grace, catch-up). */
  sweepIntervalMs?: number;
  /** Injected for tests; epoch ms. */
  now?: () => number;
  /**
   * Told of every move a person (actor `user:NAME`) makes on a ticket, inside that move's
   * transaction, so the audit entry commits with it or not at all.
   */
  /**
   * Schools whose subjects are reconciled at once after a batch (default: 4 on PostgreSQL, whose
   * pool overlaps their round trips; 1 on SQLite, which runs one transaction at a time anyway).
   */
  reconcileConcurrency?: number;
  onPersonAction?: (tx: SqlRunner, action: { ticketId: string; schoolId: string; actor: string; action: string; detail: Record<string, unknown> }) => Promise<void>;
}

interface FaultRowData {
  agent_key: string;
  code: string;
  device_key: string;
  state: 'raised' | 'cleared';
  detail: string;
  first_seen_at: number;
  raised_at: number;
  changed_at: number;
}

interface AgentRowData {
  agent_key: string;
  school_id: string;
  agent_id: string;
  room_id: string;
  state: 'online' | 'offline' | 'unknown';
  status: string | null;
  state_changed_at: number | null;
  inventory: string | null;
}

const TIME_ZONE = 'Asia/Shanghai';

/**
 * Turns the store's fault and agent state into tickets: one active ticket per (agent, fault code,
 * device), enforced by a unique index so two collectors on one PostgreSQL cannot open two. It is
 * level-triggered: each subject is reconciled against the current state of its fault (not the
 * event that announced it), so order of arrival, redelivery and a crash between a batch and its
 * follow-up change nothing: the sweep catches up on whatever was missed.
 */
/** The knowledge base for one fault code: fixed self-help steps, and what fixed it before. */

/** A ticket as the API shows it: with where each SLA promise stands now. */
export interface TicketView extends Ticket {
  sla: SlaTimers;
}

export type { Knowledge };

export class TicketEngine {
  readonly store: TicketStore;
  /** Ticket events for the webhooks, queued in the transaction that records them (an outbox). */
  readonly webhookQueue: SqlWebhookQueue;
  private readonly db: Dialect;
  private readonly directory: ServiceDirectory;
  private readonly log: Logger;
  /** Once per school per interval: a fleet without a service configuration would log it for every ticket. */
  private readonly limitedLog: RateLimitedLog;
  private readonly now: () => number;
  private readonly sweepIntervalMs: number;
  private readonly onPersonAction: TicketEngineOptions['onPersonAction'];
  private readonly concurrency: number;
  private pendingFaults = new Map<string, FaultKey>();
  private pendingAgents = new Set<string>();
  private pendingReports = new Map<string, { agentKey: string; eventId: string }>();
  private draining: Promise<void> | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private sweeping: Promise<void> | undefined;
  private stopped = false;
  private sweeps = 0;

  constructor(options: TicketEngineOptions) {
    this.db = options.db;
    this.store = new TicketStore(options.db, (row) => serviceOutcome(row, this.timers(slaFacts(row), new Date(this.now()))));
    this.webhookQueue = new SqlWebhookQueue({ db: options.db });
    this.directory = options.directory;
    this.log = options.log.child({ module: 'tickets' });
    this.limitedLog = new RateLimitedLog(this.log, { intervalMs: 10 * MINUTE_MS });
    this.now = options.now ?? Date.now;
    this.sweepIntervalMs = options.sweepIntervalMs ?? 10_000;
    this.onPersonAction = options.onPersonAction;
    this.concurrency = options.reconcileConcurrency ?? (options.db.name === 'postgres' ? 4 : 1);
  }

  start(): void {
    this.stopped = false;
    const tick = (): void => {
      this.sweepTimer = setTimeout(() => {
        this.sweeping = this.sweep()
          .catch((error: unknown) => this.log.error({ err: error }, 'ticket sweep failed; retrying at the next interval'))
          .finally(() => {
            this.sweeping = undefined;
            if (!this.stopped) tick();
          });
      }, this.sweepIntervalMs);
    };
    tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.sweepTimer);
    await this.sweeping;
    await this.settle();
  }

  /** Called after a batch commits: its faults and agents are reconciled right away, coalesced. */
  notify(subjects: TicketSubjects): void {
    for (const key of subjects.faults) this.pendingFaults.set(faultKeyString(key), key);
    for (const agent of subjects.agents) this.pendingAgents.add(agent);
    for (const report of subjects.reports ?? []) this.pendingReports.set(report.eventId, report);
    if (this.pendingFaults.size > 0 || this.pendingAgents.size > 0 || this.pendingReports.size > 0) this.drain();
  }

  /** Resolves when everything notified so far has been reconciled. */
  async settle(): Promise<void> {
    while (this.draining) await this.draining;
  }

  private drain(): void {
    if (this.draining) return;
    this.draining = (async () => {
      while (this.pendingFaults.size > 0 || this.pendingAgents.size > 0 || this.pendingReports.size > 0) {
        const faults = [...this.pendingFaults.values()];
        const agents = [...this.pendingAgents];
        const reports = [...this.pendingReports.values()];
        this.pendingFaults.clear();
        this.pendingAgents.clear();
        this.pendingReports.clear();
        // Schools in parallel, each school's subjects one after another: the school-incident rule
        // counts the school's committed tickets, which a sibling transaction would not see yet.
        await eachSchool(faults, (key) => key.agentKey, this.concurrency, (key) => this.guard(() => this.reconcileFault(key), { fault: key }));
        await eachSchool(agents, (agent) => agent, this.concurrency, (agent) => this.guard(() => this.reconcileAgent(agent), { agent }));
        await eachSchool(reports, (report) => report.agentKey, this.concurrency, (report) => this.guard(() => this.openReportTicket(report), { report: report.eventId }));
      }
    })().finally(() => {
      this.draining = undefined;
    });
  }

  /** One subject failing (a database hiccup) must not stop the others; the sweep retries it. */
  private async guard(work: () => Promise<void>, subject: Record<string, unknown>): Promise<void> {
    try {
      await work();
    } catch (error) {
      this.log.error({ err: error, ...subject }, 'reconciling a ticket failed; the next sweep retries it');
    }
  }

  /** Brings the active ticket of one fault in line with the fault's current state. */
  async reconcileFault(key: FaultKey): Promise<void> {
    await this.db.transaction(async (tx) => {
      const [fault] = await tx.query<FaultRowData>(
        `SELECT agent_key, code, device_key, state, detail, first_seen_at, raised_at, changed_at FROM faults WHERE agent_key = $1 AND code = $2 AND device_key = $3${this.db.forUpdate}`,
        [key.agentKey, key.code, key.deviceKey],
      );
      if (!fault) return;
      const agent = await this.agent(tx, key.agentKey);
      if (!agent) return;
      const policy = this.directory.policy(agent.school_id);
      const now = this.now();
      let ticket = await this.store.activeTicket(tx, key);
      if (ticket && reopenWindowPassed(facts(ticket), policy, now)) {
        await this.close(tx, ticket, 'system', now, 'the fault stayed away for the reopen window');
        ticket = undefined;
      }
      const decision = decideForFault({ code: fault.code, state: fault.state, raisedAt: Number(fault.raised_at), changedAt: Number(fault.changed_at) }, ticket && facts(ticket), policy);
      switch (decision.action) {
        case 'none':
          return;
        case 'open':
          await this.openFaultTicket(tx, fault, agent, policy, now);
          return;
        case 'cleared':
          if (!ticket) return;
          await this.store.update(tx, ticket.id, { fault_cleared_at: decision.at, updated_at: now });
          await this.record(tx, { ticketId: ticket.id, at: now, actor: 'agent', action: 'fault-cleared', detail: { clearedAt: new Date(decision.at).toISOString(), holdMinutes: policy.holdMinutes } });
          return;
        case 'recur':
        case 'reopen': {
          if (!ticket) return;
          const raisedAt = Number(fault.raised_at);
          const reopen = decision.action === 'reopen';
          await this.store.update(tx, ticket.id, {
            status: reopen ? 'open' : ticket.status,
            occurrences: Number(ticket.occurrences) + 1,
            last_occurrence_at: raisedAt,
            episode_raised_at: raisedAt,
            fault_cleared_at: null,
            flaps: Number(ticket.flaps) + (decision.flap ? 1 : 0),
            reopens: Number(ticket.reopens) + (reopen ? 1 : 0),
            ...(reopen ? { resolved_at: null, resolution: null } : {}),
            updated_at: now,
          });
          await this.record(tx, {
            ticketId: ticket.id,
            at: now,
            actor: 'agent',
            action: reopen ? 'reopened' : 'recurred',
            fromStatus: ticket.status,
            toStatus: reopen ? 'open' : ticket.status,
            detail: { raisedAt: new Date(raisedAt).toISOString(), flap: decision.flap },
          });
          return;
        }
      }
    });
  }

  /** Opens or resolves the offline ticket of one agent. */
  async reconcileAgent(agentKey: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      const [agent] = await tx.query<AgentRowData>(`SELECT agent_key, school_id, agent_id, room_id, state, status, state_changed_at, inventory FROM agents WHERE agent_key = $1${this.db.forUpdate}`, [agentKey]);
      if (!agent) return;
      const policy = this.directory.policy(agent.school_id);
      const now = this.now();
      const subject = { agentKey, code: AGENT_OFFLINE, deviceKey: '' };
      let ticket = await this.store.activeTicket(tx, subject);
      if (ticket && reopenWindowPassed(facts(ticket), policy, now)) {
        await this.close(tx, ticket, 'system', now, 'the agent stayed online for the reopen window');
        ticket = undefined;
      }
      const decision = decideForAgentState({ state: agent.state, stateChangedAt: agent.state_changed_at === null ? null : Number(agent.state_changed_at) }, ticket && facts(ticket), policy, now);
      if (decision.action === 'resolve' && ticket) {
        await this.resolveRow(tx, ticket, now, { by: 'agent', verifiedBy: 'agent', cause: null, actions: null, note: 'The agent is reporting again.' });
      } else if (decision.action === 'open') {
        if (ticket?.status === 'resolved') {
          await this.reopenOffline(tx, ticket, now);
          return;
        }
        await this.openOfflineTicket(tx, agent, policy, now);
      }
    });
  }

  /**
   * Time-driven rules: a fault clear past the hold resolves, a resolved ticket past the reopen
   * window closes, an agent offline past the grace opens a ticket, and anything a crash left
   * unreconciled (a raised fault with no ticket, a cleared one whose ticket never heard) catches up.
   */
  async sweep(): Promise<void> {
    const now = this.now();
    // Candidates by the shortest hold and reopen window any school has; each ticket is then checked against its own school's policy.
    const policies = this.directory.policies();
    const holdMs = Math.min(...policies.map((policy) => policy.holdMinutes * MINUTE_MS));
    const reopenMs = Math.min(...policies.map((policy) => policy.reopenWindowHours * HOUR_MS));
    const due = await this.store.dueForSweep(this.db, now - holdMs, now - reopenMs);
    for (const row of due) {
      await this.guard(() => this.sweepTicket(row.id), { ticket: row.id });
    }
    // Escalations are found without locks (timers computed in memory); only a ticket with one due is locked and written.
    // Only the columns the timers read: the bundle and description of thousands of open tickets stay in the database.
    const working = await this.db.query<SlaColumns>(
      `SELECT id, school_id, severity, opened_at, first_response_at, resolved_at, on_site_requested_at, on_site_arrived_at, escalations
       FROM tickets WHERE active = 1 AND status IN ('open', 'acknowledged', 'in_progress')`,
    );
    for (const row of working) {
      if (dueEscalations(this.timers(slaFacts(row), new Date(now)), row).length > 0) await this.guard(() => this.escalate(row.id), { ticket: row.id });
    }
    const offline = await this.db.query<{ agent_key: string }>(
      `SELECT agent_key FROM agents a WHERE (state = 'offline' AND NOT EXISTS (SELECT 1 FROM tickets t WHERE t.agent_key = a.agent_key AND t.code = $1 AND t.active = 1 AND t.status <> 'resolved'))
          OR (state = 'online' AND EXISTS (SELECT 1 FROM tickets t WHERE t.agent_key = a.agent_key AND t.code = $1 AND t.active = 1 AND t.status <> 'resolved'))`,
      [AGENT_OFFLINE],
    );
    for (const { agent_key: agent } of offline) await this.guard(() => this.reconcileAgent(agent), { agent });
    // Catching up after a crash is rare work: at the first sweep and then once a minute, not every
    // sweep, where during a burst it would redo what the batches' own follow-ups are doing.
    this.sweeps += 1;
    if ((this.sweeps - 1) % CATCH_UP_EVERY_SWEEPS === 0) await this.catchUp(now);
  }

  private async catchUp(now: number): Promise<void> {
    const missed = await this.db.query<{ agent_key: string; code: string; device_key: string }>(
      `SELECT f.agent_key, f.code, f.device_key FROM faults f WHERE
         (f.state = 'raised' AND NOT EXISTS (SELECT 1 FROM tickets t WHERE t.agent_key = f.agent_key AND t.code = f.code AND t.device_key = f.device_key AND t.active = 1 AND t.episode_raised_at >= f.raised_at))
         OR (f.state = 'cleared' AND EXISTS (SELECT 1 FROM tickets t WHERE t.agent_key = f.agent_key AND t.code = f.code AND t.device_key = f.device_key AND t.active = 1 AND t.status <> 'resolved' AND t.fault_cleared_at IS NULL))`,
    );
    for (const row of missed) {
      const key = { agentKey: row.agent_key, code: row.code, deviceKey: row.device_key };
      await this.guard(() => this.reconcileFault(key), { fault: key });
    }
    // Reports of the last week whose ticket a crash kept from opening.
    const reports = await this.db.query<{ agent_key: string; event_id: string }>(
      `SELECT e.agent_key, e.event_id FROM events e WHERE e.type = 'report' AND e.received_at >= $1
         AND NOT EXISTS (SELECT 1 FROM tickets t WHERE t.agent_key = e.agent_key AND t.code = $2 AND t.device_key = '"' || e.event_id || '"')`,
      [now - 7 * 24 * HOUR_MS, TEACHER_REPORT],
    );
    for (const row of reports) await this.guard(() => this.openReportTicket({ agentKey: row.agent_key, eventId: row.event_id }), { report: row.event_id });
  }

  /** A teacher's report is a ticket of its own (keyed by the report's id), with the bundle the agent attached. */
  async openReportTicket(report: { agentKey: string; eventId: string }): Promise<void> {
    await this.db.transaction(async (tx) => {
      const [event] = await tx.query<{ payload: string }>("SELECT payload FROM events WHERE event_id = $1 AND type = 'report'", [report.eventId]);
      const agent = await this.agent(tx, report.agentKey);
      if (!event || !agent) return;
      // Written by the store from a message that had passed agentMessageSchema.
      const message = JSON.parse(event.payload) as ReportMessage;
      const subject = { agentKey: report.agentKey, code: TEACHER_REPORT, deviceKey: JSON.stringify(report.eventId) };
      if (await this.store.activeTicket(tx, subject)) return;
      const now = this.now();
      const policy = this.directory.policy(agent.school_id);
      const info = codeInfo(TEACHER_REPORT);
      const inventory = message.bundle.inventory as unknown as Record<string, unknown>[];
      const device = message.deviceId === undefined ? null : ticketDevice(message.deviceId, {}, inventory);
      const severity = ticketSeverity(info.severity, { roomLost: new Set(), teaching: this.directory.teaching(agent.school_id, agent.room_id, new Date(now)), schoolRoomsHit: 0 }, policy);
      const reportedAt = Date.parse(message.at);
      // The agent cleans what the teacher typed, but the cloud does not rely on a PC for what people read.
      const text = untrustedMultiline(message.text, 2000) ?? '(no printable text)';
      const title = untrustedText(text, 81) ?? text;
      const reporter = message.reporter === undefined ? null : (untrustedText(message.reporter, 128) ?? null);
      const row = this.newRow({
        agent,
        code: TEACHER_REPORT,
        deviceKey: subject.deviceKey,
        category: info.category,
        severity,
        title: `Room ${agent.room_id}: ${Array.from(title).length > 80 ? `${Array.from(title).slice(0, 77).join('')}...` : title}`,
        description: describeReport({ text, reporter, schoolId: agent.school_id, roomId: agent.room_id, agentId: agent.agent_id, device, at: reportedAt, timeZone: TIME_ZONE }),
        device: device === null ? null : JSON.stringify(device),
        occurredAt: reportedAt,
        episodeRaisedAt: reportedAt,
        agentActions: '[]',
        bundle: await this.bundle(tx, agent, { report: { id: message.eventId, text: message.text, reporter: message.reporter ?? null, deviceId: message.deviceId ?? null }, agentBundle: message.bundle }),
        now,
      });
      await this.insertOpened(tx, row, { code: TEACHER_REPORT, reportId: message.eventId, severityReasons: severity.reasons });
    });
  }

  /**
   * Raises each SLA escalation of a ticket once: near breach (80 % of a target used) and breach.
   * The ones raised are kept on the ticket, so a restart or a second collector raises none twice.
   */
  private async escalate(id: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      const row = await this.store.lockTicket(tx, id);
      if (!row || Number(row.active) !== 1 || row.status === 'resolved' || row.status === 'closed') return;
      const now = this.now();
      const timers = this.timers(toTicket(row), new Date(now));
      const raised = new Set(JSON.parse(row.escalations) as string[]);
      const due = dueEscalations(timers, row);
      if (due.length === 0) return;
      for (const { timer, kind } of due) {
        raised.add(`${timer.name}:${kind}`);
        // A breach found without its warning (the sweep was down) implies the warning: never raised after it.
        if (kind === 'breach') raised.add(`${timer.name}:near-breach`);
      }
      await this.store.update(tx, row.id, { escalations: JSON.stringify([...raised].sort()), updated_at: now });
      for (const { timer, kind } of due) {
        await this.record(tx, {
          ticketId: row.id,
          at: now,
          actor: 'system',
          action: 'escalated',
          detail: { timer: timer.name, kind, dueAt: timer.dueAt.toISOString(), severity: row.severity, teamId: row.team_id },
        });
      }
      this.log.warn({ ticket: row.id, escalations: due.map(({ timer, kind }) => `${timer.name}:${kind}`), team: row.team_id }, 'SLA escalation');
    });
  }

  private async sweepTicket(id: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      const ticket = await this.store.lockTicket(tx, id);
      if (!ticket || Number(ticket.active) !== 1) return;
      const policy = this.directory.policy(ticket.school_id);
      const now = this.now();
      if (holdElapsed(facts(ticket), policy, now)) {
        await this.resolveRow(tx, ticket, now, {
          by: 'agent',
          verifiedBy: 'agent',
          cause: null,
          actions: null,
          note: `The agent verified the fault: it stayed clear for ${policy.holdMinutes} min.`,
        });
      } else if (reopenWindowPassed(facts(ticket), policy, now)) {
        await this.close(tx, ticket, 'system', now, `no recurrence within ${policy.reopenWindowHours} h of the resolution`);
      }
    });
  }

  // --- what the API shows -------------------------------------------------------------------

  async list(filter: TicketFilter = {}): Promise<TicketView[]> {
    const now = new Date(this.now());
    return (await this.store.list(filter)).map((ticket) => this.view(ticket, now));
  }

  count(filter: TicketFilter = {}): Promise<number> {
    return this.store.count(filter);
  }

  /** A ticket with its history, bundle and knowledge; past resolutions only from `readerSchools` (undefined: every school, an operator). */
  async get(id: string, readerSchools?: readonly string[]): Promise<{ ticket: TicketView; history: TicketHistoryEntry[]; bundle: unknown; knowledge: Knowledge } | null> {
    const found = await this.store.get(id);
    if (!found) return null;
    return { ...found, ticket: this.view(found.ticket, new Date(this.now())), knowledge: await this.knowledge(found.ticket.code, 5, readerSchools) };
  }

  /** Where each SLA promise of a ticket stands, counted in its school's business calendar. */
  timers(ticket: Pick<Ticket, 'schoolId' | 'severity' | 'openedAt' | 'firstResponseAt' | 'resolvedAt' | 'onSiteRequestedAt' | 'onSiteArrivedAt'>, now: Date): SlaTimers {
    const terms = this.directory.terms(ticket.schoolId);
    const onSite =
      ticket.onSiteRequestedAt === null
        ? undefined
        : { requestedAt: new Date(ticket.onSiteRequestedAt), sameCity: terms.sameCity, arrivedAt: ticket.onSiteArrivedAt === null ? undefined : new Date(ticket.onSiteArrivedAt) };
    return slaTimers({
      onSite,
      policy: terms.sla,
      calendar: terms.calendar,
      severity: ticket.severity,
      openedAt: new Date(ticket.openedAt),
      firstResponseAt: ticket.firstResponseAt === null ? undefined : new Date(ticket.firstResponseAt),
      resolvedAt: ticket.resolvedAt === null ? undefined : new Date(ticket.resolvedAt),
      now,
    });
  }

  private view(ticket: Ticket, now: Date): TicketView {
    return { ...ticket, sla: this.timers(ticket, now) };
  }

  // --- what people do ------------------------------------------------------------------------

  async acknowledge(id: string, actor: string): Promise<void> {
    await this.transition(id, actor, ['open'], 'acknowledged', (row, now) => ({ acknowledged_at: now, first_response_at: row.first_response_at ?? now }));
  }

  async startWork(id: string, actor: string): Promise<void> {
    await this.transition(id, actor, ['open', 'acknowledged'], 'in_progress', (row, now) => ({ acknowledged_at: row.acknowledged_at ?? now, first_response_at: row.first_response_at ?? now }));
  }

  async resolve(id: string, actor: string, report: { note: string; cause?: string | undefined; actions?: string | undefined }): Promise<void> {
    await this.db.transaction(async (tx) => {
      const ticket = await this.lockForAction(tx, id, ['open', 'acknowledged', 'in_progress'], 'resolve');
      const now = this.now();
      await this.resolveRow(tx, ticket, now, { by: actor, verifiedBy: 'engineer', cause: report.cause ?? null, actions: report.actions ?? null, note: report.note });
      // The resolution feeds the knowledge base: the next ticket with this code shows how it was fixed.
      await tx.execute(
        `INSERT INTO knowledge_notes (ticket_id, code, at, author, cause, actions, note) VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (ticket_id) DO UPDATE SET at = excluded.at, author = excluded.author, cause = excluded.cause, actions = excluded.actions, note = excluded.note`,
        [ticket.id, ticket.code, now, actor, report.cause ?? null, report.actions ?? null, report.note],
      );
    });
  }

  /**
   * Self-help steps for a code (curated, the same for everyone), and how engineers resolved it
   * lately (newest first) in the reader's schools only: another school's notes, ticket ids and
   * engineers are that school's business. `readerSchools` undefined: every school (an operator).
   */
  async knowledge(code: string, limit = 5, readerSchools?: readonly string[]): Promise<Knowledge> {
    const params: SqlParam[] = [code];
    let inScope = '';
    if (readerSchools !== undefined) {
      params.push(this.db.textList(readerSchools));
      inScope = ` AND ${this.db.inTextList('t.school_id', params.length)}`;
    }
    params.push(limit);
    const notes = await this.db.query<{ ticket_id: string; at: number; author: string; cause: string | null; actions: string | null; note: string }>(
      `SELECT k.ticket_id, k.at, k.author, k.cause, k.actions, k.note FROM knowledge_notes k JOIN tickets t ON t.id = k.ticket_id
       WHERE k.code = $1${inScope} ORDER BY k.at DESC, k.ticket_id LIMIT $${params.length}`,
      params,
    );
    return {
      code,
      selfHelp: [...selfHelpFor(code)],
      pastResolutions: notes.map((note) => ({ ticketId: note.ticket_id, at: new Date(Number(note.at)).toISOString(), by: note.author, cause: note.cause, actions: note.actions, note: note.note })),
    };
  }

  /** Remote help was not enough: an engineer must go; the on-site timer starts. */
  async requestOnSite(id: string, actor: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      const ticket = await this.lockForAction(tx, id, ['open', 'acknowledged', 'in_progress'], 'request an on-site visit');
      if (ticket.on_site_requested_at !== null) throw new AvcareError('TICKET_STATE_CONFLICT', `an on-site visit for ticket ${id} was already requested`, { id });
      const now = this.now();
      await this.store.update(tx, ticket.id, { on_site_requested_at: now, first_response_at: ticket.first_response_at ?? now, updated_at: now });
      await this.record(tx, { ticketId: ticket.id, at: now, actor, action: 'on-site-requested', detail: { sameCity: this.directory.terms(ticket.school_id).sameCity } });
    });
  }

  async arriveOnSite(id: string, actor: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      const ticket = await this.lockForAction(tx, id, ['open', 'acknowledged', 'in_progress'], 'arrive on site');
      if (ticket.on_site_requested_at === null || ticket.on_site_arrived_at !== null) {
        throw new AvcareError('TICKET_STATE_CONFLICT', `ticket ${id} has no on-site visit waiting for an arrival`, { id });
      }
      const now = this.now();
      await this.store.update(tx, ticket.id, { on_site_arrived_at: now, updated_at: now });
      await this.record(tx, { ticketId: ticket.id, at: now, actor, action: 'on-site-arrived' });
    });
  }

  async closeTicket(id: string, actor: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      const ticket = await this.lockForAction(tx, id, ['resolved'], 'close');
      await this.close(tx, ticket, actor, this.now(), 'closed by hand');
    });
  }

  /** The school rates the service once the ticket is resolved (again later replaces the rating). */
  async rate(id: string, actor: string, rating: { score: number; comment?: string | undefined }): Promise<void> {
    await this.db.transaction(async (tx) => {
      const ticket = await this.lockForAction(tx, id, ['resolved', 'closed'], 'rate');
      const now = this.now();
      const value = { by: actor, score: rating.score, comment: rating.comment ?? null, at: new Date(now).toISOString() };
      await this.store.update(tx, ticket.id, { rating: JSON.stringify(value), updated_at: now });
      await this.record(tx, { ticketId: ticket.id, at: now, actor, action: 'rated', detail: { score: rating.score, comment: rating.comment ?? null } });
    });
  }

  private async transition(id: string, actor: string, from: readonly TicketStatus[], to: TicketStatus, patch: (row: TicketRow, now: number) => Partial<TicketRow>): Promise<void> {
    await this.db.transaction(async (tx) => {
      const ticket = await this.lockForAction(tx, id, from, to);
      const now = this.now();
      await this.store.update(tx, ticket.id, { ...patch(ticket, now), status: to, updated_at: now });
      await this.record(tx, { ticketId: ticket.id, at: now, actor, action: to === 'in_progress' ? 'started' : to, fromStatus: ticket.status, toStatus: to });
    });
  }

  private async lockForAction(tx: SqlRunner, id: string, from: readonly TicketStatus[], action: string): Promise<TicketRow> {
    const ticket = await this.store.lockTicket(tx, id);
    if (!ticket) throw new AvcareError('TICKET_NOT_FOUND', `no ticket ${id}`, { id });
    if (!from.includes(ticket.status)) {
      throw new AvcareError('TICKET_STATE_CONFLICT', `ticket ${id} is ${ticket.status.replace('_', ' ')}: "${action}" needs it ${from.map((status) => status.replace('_', ' ')).join(' or ')}`, {
        id,
        status: ticket.status,
      });
    }
    return ticket;
  }

  // --- writes shared by rules and people -------------------------------------------------------

  private async resolveRow(tx: SqlRunner, ticket: TicketRow, now: number, report: Omit<ResolutionReport, 'minutesToRestore'>): Promise<void> {
    const restoredAt = report.verifiedBy === 'agent' && ticket.fault_cleared_at !== null ? Number(ticket.fault_cleared_at) : now;
    const resolution: ResolutionReport = { ...report, minutesToRestore: Math.max(0, Math.round((restoredAt - Number(ticket.first_occurrence_at)) / MINUTE_MS)) };
    await this.store.update(tx, ticket.id, { status: 'resolved', resolved_at: now, resolution: JSON.stringify(resolution), first_response_at: ticket.first_response_at ?? now, updated_at: now });
    await this.record(tx, { ticketId: ticket.id, at: now, actor: report.verifiedBy === 'agent' ? 'agent' : report.by, action: 'resolved', fromStatus: ticket.status, toStatus: 'resolved', detail: { ...resolution } });
  }

  private async close(tx: SqlRunner, ticket: TicketRow, actor: string, now: number, why: string): Promise<void> {
    await this.store.update(tx, ticket.id, { status: 'closed', active: 0, closed_at: now, updated_at: now });
    await this.record(tx, { ticketId: ticket.id, at: now, actor, action: 'closed', fromStatus: ticket.status, toStatus: 'closed', detail: { why } });
  }

  private async reopenOffline(tx: SqlRunner, ticket: TicketRow, now: number): Promise<void> {
    await this.store.update(tx, ticket.id, { status: 'open', resolved_at: null, resolution: null, reopens: Number(ticket.reopens) + 1, occurrences: Number(ticket.occurrences) + 1, last_occurrence_at: now, updated_at: now });
    await this.record(tx, { ticketId: ticket.id, at: now, actor: 'system', action: 'reopened', fromStatus: 'resolved', toStatus: 'open', detail: { why: 'the agent went offline again' } });
  }

  private async openFaultTicket(tx: SqlRunner, fault: FaultRowData, agent: AgentRowData, policy: TicketPolicy, now: number): Promise<void> {
    const detail = JSON.parse(fault.detail) as { deviceId: string | null; message: string; messageKey?: string; params?: Record<string, string | number>; evidence: Record<string, unknown> };
    const info = codeInfo(fault.code);
    const inventory = agent.inventory === null ? [] : (JSON.parse(agent.inventory) as Record<string, unknown>[]);
    const device = ticketDevice(detail.deviceId, detail.evidence, inventory);
    const roomLost = await this.roomCapabilitiesLost(tx, agent);
    const lost = capabilityLost(fault.code, detail.evidence);
    if (lost) roomLost.add(lost);
    const schoolRoomsHit = await this.schoolRoomsHit(tx, agent, policy, now);
    const severity = ticketSeverity(info.severity, { roomLost, teaching: this.directory.teaching(agent.school_id, agent.room_id, new Date(now)), schoolRoomsHit, code: fault.code }, policy);
    const raisedAt = Number(fault.raised_at);
    const row = this.newRow({
      agent,
      code: fault.code,
      deviceKey: fault.device_key,
      category: info.category,
      severity,
      title: `${info.title} in room ${agent.room_id}`,
      description: describeFault({ title: info.title, message: detail.message, schoolId: agent.school_id, roomId: agent.room_id, agentId: agent.agent_id, device, firstSeenAt: Number(fault.first_seen_at), timeZone: TIME_ZONE }),
      device: device === null ? null : JSON.stringify(device),
      occurredAt: raisedAt,
      episodeRaisedAt: raisedAt,
      agentActions: JSON.stringify(agentActions(detail.evidence)),
      bundle: await this.bundle(tx, agent, {
        // The catalog key and parameters travel with the English text: the console renders them in the reader's language.
        fault: { code: fault.code, message: detail.message, ...(detail.messageKey === undefined ? {} : { messageKey: detail.messageKey, params: detail.params ?? {} }), evidence: detail.evidence },
        // The agent's recent log, secrets already removed on the PC, as it sent it with the raise.
        logExcerpt: Array.isArray(detail.evidence.logExcerpt) ? detail.evidence.logExcerpt.filter((line): line is string => typeof line === 'string') : [],
      }),
      now,
    });
    await this.insertOpened(tx, row, { code: fault.code, severityReasons: severity.reasons });
    if (schoolRoomsHit >= policy.schoolIncident.rooms) await this.raiseSchoolIncident(tx, agent.school_id, schoolRoomsHit, policy, now);
  }

  private async openOfflineTicket(tx: SqlRunner, agent: AgentRowData, policy: TicketPolicy, now: number): Promise<void> {
    const info = codeInfo(AGENT_OFFLINE);
    const since = agent.state_changed_at === null ? now : Number(agent.state_changed_at);
    const status = agent.status === null ? {} : (JSON.parse(agent.status) as { reason?: string });
    const severity = ticketSeverity(info.severity, { roomLost: new Set(), teaching: this.directory.teaching(agent.school_id, agent.room_id, new Date(now)), schoolRoomsHit: 0 }, policy);
    const row = this.newRow({
      agent,
      code: AGENT_OFFLINE,
      deviceKey: '',
      category: info.category,
      severity,
      title: `${info.title}: ${agent.agent_id} in room ${agent.room_id}`,
      description: describeOffline({ schoolId: agent.school_id, roomId: agent.room_id, agentId: agent.agent_id, since, reason: status.reason ?? null, timeZone: TIME_ZONE }),
      device: null,
      occurredAt: since,
      episodeRaisedAt: since,
      agentActions: '[]',
      bundle: await this.bundle(tx, agent, {}),
      now,
    });
    await this.insertOpened(tx, row, { code: AGENT_OFFLINE, severityReasons: severity.reasons, offlineSince: new Date(since).toISOString() });
  }

  private newRow(input: {
    agent: AgentRowData;
    code: string;
    deviceKey: string;
    category: TicketRow['category'];
    severity: { severity: Severity; reasons: string[] };
    title: string;
    description: string;
    device: string | null;
    occurredAt: number;
    episodeRaisedAt: number;
    agentActions: string;
    bundle: string;
    now: number;
  }): TicketRow {
    const route = this.directory.route(input.agent.school_id);
    return {
      id: newTicketId(),
      agent_key: input.agent.agent_key,
      code: input.code,
      device_key: input.deviceKey,
      school_id: input.agent.school_id,
      room_id: input.agent.room_id,
      active: 1,
      status: 'open',
      category: input.category,
      severity: input.severity.severity,
      severity_reasons: JSON.stringify(input.severity.reasons),
      region_id: route.regionId,
      team_id: route.teamId,
      title: input.title,
      description: input.description,
      device: input.device,
      occurrences: 1,
      first_occurrence_at: input.occurredAt,
      last_occurrence_at: input.occurredAt,
      episode_raised_at: input.episodeRaisedAt,
      fault_cleared_at: null,
      flaps: 0,
      reopens: 0,
      opened_at: input.now,
      acknowledged_at: null,
      first_response_at: null,
      resolved_at: null,
      closed_at: null,
      agent_actions: input.agentActions,
      bundle: input.bundle,
      resolution: null,
      rating: null,
      escalations: '[]',
      updated_at: input.now,
      on_site_requested_at: null,
      on_site_arrived_at: null,
    };
  }

  private async insertOpened(tx: SqlRunner, row: TicketRow, detail: Record<string, unknown>): Promise<void> {
    if (!(await this.store.insert(tx, row))) return;
    await this.record(tx, { ticketId: row.id, at: row.opened_at, actor: row.code === TEACHER_REPORT ? 'teacher' : 'agent', action: 'opened', toStatus: 'open', detail: { ...detail, teamId: row.team_id, regionId: row.region_id } });
    if (row.team_id === null) this.limitedLog.warn(`unrouted:${row.school_id}`, { ticket: row.id, school: row.school_id }, 'no service team covers this school: its tickets are unrouted (the service configuration names its region and team)');
  }

  private async agent(tx: SqlRunner, agentKey: string): Promise<AgentRowData | undefined> {
    const [agent] = await tx.query<AgentRowData>('SELECT agent_key, school_id, agent_id, room_id, state, status, state_changed_at, inventory FROM agents WHERE agent_key = $1', [agentKey]);
    return agent;
  }

  /** What the room's raised faults (on any of its PCs) have taken from it. */
  private async roomCapabilitiesLost(tx: SqlRunner, agent: AgentRowData): Promise<Set<TeachingCapability>> {
    const rows = await tx.query<{ code: string; detail: string }>(
      `SELECT f.code, f.detail FROM faults f JOIN agents a ON a.agent_key = f.agent_key WHERE a.school_id = $1 AND a.room_id = $2 AND f.state = 'raised'`,
      [agent.school_id, agent.room_id],
    );
    const lost = new Set<TeachingCapability>();
    for (const row of rows) {
      const capability = capabilityLost(row.code, (JSON.parse(row.detail) as { evidence: Record<string, unknown> }).evidence);
      if (capability) lost.add(capability);
    }
    return lost;
  }

  /** Rooms of the school with a ticket opened within the incident window, counting this one. */
  private async schoolRoomsHit(tx: SqlRunner, agent: AgentRowData, policy: TicketPolicy, now: number): Promise<number> {
    const rows = await tx.query<{ room_id: string }>(
      `SELECT DISTINCT room_id FROM tickets WHERE school_id = $1 AND active = 1 AND status <> 'resolved' AND opened_at >= $2 AND code <> $3`,
      [agent.school_id, now - policy.schoolIncident.windowMinutes * MINUTE_MS, AGENT_OFFLINE],
    );
    const rooms = new Set(rows.map((row) => row.room_id));
    rooms.add(agent.room_id);
    return rooms.size;
  }

  /** Many rooms hit at once: every recent ticket of the school becomes critical, each saying why. */
  private async raiseSchoolIncident(tx: SqlRunner, schoolId: string, rooms: number, policy: TicketPolicy, now: number): Promise<void> {
    const tickets = await tx.query<TicketRow>(
      // Locked in id order: two subjects of one school reconciled at once (or by two collectors) then queue on the first ticket instead of deadlocking.
      `SELECT * FROM tickets WHERE school_id = $1 AND active = 1 AND status <> 'resolved' AND opened_at >= $2 AND severity <> 'critical' AND code <> $3 ORDER BY id${this.db.forUpdate}`,
      [schoolId, now - policy.schoolIncident.windowMinutes * MINUTE_MS, AGENT_OFFLINE],
    );
    const reason = `critical: ${rooms} rooms of this school hit within ${policy.schoolIncident.windowMinutes} min`;
    for (const ticket of tickets) {
      const reasons = [...(JSON.parse(ticket.severity_reasons) as string[]), reason];
      await this.store.update(tx, ticket.id, { severity: 'critical', severity_reasons: JSON.stringify(reasons), updated_at: now });
      await this.record(tx, { ticketId: ticket.id, at: now, actor: 'system', action: 'severity-raised', detail: { from: ticket.severity, to: 'critical', reason } });
    }
  }

  /**
   * Every change of a ticket goes into its history and, in the same transaction, to the webhook
   * outbox as `ticket.<action>` with the ticket as it now is, so a helpdesk mirror misses nothing.
   */
  private async record(
    tx: SqlRunner,
    entry: { ticketId: string; at: number; actor: string; action: string; fromStatus?: TicketStatus | null; toStatus?: TicketStatus | null; detail?: Record<string, unknown> },
  ): Promise<void> {
    const step = await this.store.appendHistory(tx, entry);
    if (this.onPersonAction && entry.actor.startsWith('user:')) {
      const [ticket] = await tx.query<{ school_id: string }>('SELECT school_id FROM tickets WHERE id = $1', [entry.ticketId]);
      await this.onPersonAction(tx, { ticketId: entry.ticketId, schoolId: ticket?.school_id ?? '', actor: entry.actor, action: entry.action, detail: { fromStatus: entry.fromStatus ?? null, toStatus: entry.toStatus ?? null, ...(entry.detail ?? {}) } });
    }
    const endpoints = this.directory.webhooks();
    if (endpoints.length === 0) return;
    const [row] = await tx.query<TicketRow>('SELECT * FROM tickets WHERE id = $1', [entry.ticketId]);
    if (!row) return;
    const type = `ticket.${entry.action.replace(/-/g, '_')}`;
    const eventId = `${entry.ticketId}:${String(step).padStart(6, '0')}`;
    const createdAt = new Date(entry.at);
    const body = JSON.stringify({
      id: eventId,
      type,
      at: createdAt.toISOString(),
      actor: entry.actor,
      change: { from: entry.fromStatus ?? null, to: entry.toStatus ?? null, detail: entry.detail ?? {} },
      ticket: toTicket(row),
    });
    await this.webhookQueue.enqueue(tx, planWebhookDeliveries({ id: eventId, type, body, createdAt }, endpoints));
  }

  /**
   * The diagnostic bundle: what the engineer would otherwise ask the school for. Taken when the
   * ticket opens, so it shows the room as it was when the fault happened.
   */
  private async bundle(tx: SqlRunner, agent: AgentRowData, extra: Record<string, unknown>): Promise<string> {
    const [state] = await tx.query<{ system: string | null; health_at: number | null; last_seen_at: number }>('SELECT system, health_at, last_seen_at FROM agents WHERE agent_key = $1', [agent.agent_key]);
    const health = await tx.query<{ at: number; cpu_load: number; mem_available: number; disk_use_max: number; cpu_temp: number | null }>(
      "SELECT at, cpu_load, mem_available, disk_use_max, cpu_temp FROM health WHERE agent_key = $1 AND resolution = 'raw' ORDER BY at DESC LIMIT 20",
      [agent.agent_key],
    );
    const measurements = await tx.query<{ payload: string }>("SELECT payload FROM events WHERE agent_key = $1 AND type = 'measurement' ORDER BY at DESC LIMIT 20", [agent.agent_key]);
    return JSON.stringify({
      takenAt: new Date(this.now()).toISOString(),
      agent: { id: agent.agent_id, schoolId: agent.school_id, roomId: agent.room_id, state: agent.state, lastSeenAt: state ? new Date(Number(state.last_seen_at)).toISOString() : null },
      inventory: agent.inventory === null ? [] : (JSON.parse(agent.inventory) as unknown),
      system: state?.system ? (JSON.parse(state.system) as unknown) : null,
      recentHealth: health.map((point) => ({ at: new Date(Number(point.at)).toISOString(), cpuLoadPercent: point.cpu_load, memAvailableBytes: point.mem_available, diskUseMaxPercent: point.disk_use_max, cpuTemperatureC: point.cpu_temp })),
      recentMeasurements: measurements.map((row) => {
        const message = JSON.parse(row.payload) as { at: string; name: string; value: number; unit: string; deviceId: string | null };
        return { at: message.at, name: message.name, value: message.value, unit: message.unit, deviceId: message.deviceId };
      }),
      ...extra,
    });
  }
}

type SlaColumns = Pick<TicketRow, 'id' | 'school_id' | 'severity' | 'opened_at' | 'first_response_at' | 'resolved_at' | 'on_site_requested_at' | 'on_site_arrived_at' | 'escalations'>;

/** The ticket facts the SLA timers read, from the columns the sweep selects. */
function slaFacts(row: SlaColumns): Pick<Ticket, 'schoolId' | 'severity' | 'openedAt' | 'firstResponseAt' | 'resolvedAt' | 'onSiteRequestedAt' | 'onSiteArrivedAt'> {
  const iso = (ms: number | null): string | null => (ms === null ? null : new Date(Number(ms)).toISOString());
  return {
    schoolId: row.school_id,
    severity: row.severity,
    openedAt: new Date(Number(row.opened_at)).toISOString(),
    firstResponseAt: iso(row.first_response_at),
    resolvedAt: iso(row.resolved_at),
    onSiteRequestedAt: iso(row.on_site_requested_at),
    onSiteArrivedAt: iso(row.on_site_arrived_at),
  };
}

/** Kept (1), missed (0) or still open (null): a timer counts once its promise is done. */
function kept(timer: SlaTimer | null): number | null {
  if (timer === null) return null;
  return timer.state === 'met' ? 1 : timer.state === 'missed' ? 0 : null;
}

/** How the ticket's service went so far, for the service-quality report. */
function serviceOutcome(row: TicketRow, timers: SlaTimers): ServiceOutcome {
  const resolution = row.resolution === null ? null : (JSON.parse(row.resolution) as Pick<ResolutionReport, 'verifiedBy'>);
  const rating = row.rating === null ? null : (JSON.parse(row.rating) as Pick<ServiceRating, 'score'>);
  return {
    sla_first_response_met: kept(timers.firstResponse),
    sla_resolution_met: kept(timers.resolution),
    sla_on_site_met: kept(timers.onSite),
    resolved_via: resolution === null ? null : resolution.verifiedBy === 'agent' ? 'agent' : row.on_site_arrived_at !== null ? 'on-site' : 'remote',
    rating_score: rating?.score ?? null,
  };
}

/** Catch-up runs at the first sweep and then every this many (10 s each: once a minute). */
const CATCH_UP_EVERY_SWEEPS = 6;

/** The escalations a ticket's timers call for that it has not raised yet. */
function dueEscalations(timers: SlaTimers, row: Pick<TicketRow, 'escalations'>): Array<{ timer: SlaTimer; kind: 'near-breach' | 'breach' }> {
  const raised = new Set(JSON.parse(row.escalations) as string[]);
  return [timers.firstResponse, timers.resolution, ...(timers.onSite ? [timers.onSite] : [])].flatMap((timer): Array<{ timer: SlaTimer; kind: 'near-breach' | 'breach' }> => {
    if (timer.state === 'breached') return raised.has(`${timer.name}:breach`) ? [] : [{ timer, kind: 'breach' }];
    if (timer.state === 'near-breach') return raised.has(`${timer.name}:near-breach`) ? [] : [{ timer, kind: 'near-breach' }];
    return [];
  });
}

function facts(row: TicketRow): TicketFacts {
  return {
    status: row.status,
    episodeRaisedAt: row.episode_raised_at === null ? null : Number(row.episode_raised_at),
    faultClearedAt: row.fault_cleared_at === null ? null : Number(row.fault_cleared_at),
    resolvedAt: row.resolved_at === null ? null : Number(row.resolved_at),
  };
}

function faultKeyString(key: FaultKey): string {
  return JSON.stringify([key.agentKey, key.code, key.deviceKey]);
}

