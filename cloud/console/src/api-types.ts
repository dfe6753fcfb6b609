/**
 * What the console reads of the API's answers: the views in protocol/views, which the cloud
 * builds its answers with.
 */
export type { Role } from '../../../protocol/roles.js';
export type { Severity } from '../../../protocol/severity.js';
export type { Device } from '../../../protocol/device.js';
export type { AgentDetail, AgentState, AgentSummary, LatestMeasurement as MeasurementVerdict, MeasurementPoint, OpenFault, RoomReadiness, SchoolRooms } from '../../../protocol/views/fleet-view.js';
export type { Knowledge, QualityReport, QualityRow, SlaTimerView as SlaTimer, TicketDetail, TicketHistoryEntry, TicketStatus, TicketWithSla as Ticket } from '../../../protocol/views/ticket-view.js';
export type { CommandStatus, RemoteCommand, RemoteSession, SessionState } from '../../../protocol/views/session-view.js';
export type { ConsoleSignIn as ConsoleSession, MeView as Me, SignedInAccount as Account } from '../../../protocol/views/people-view.js';
