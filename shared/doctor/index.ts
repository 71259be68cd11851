/** The broker's self-diagnosis: `npm run doctor`, the health function, and what export-root shares. */
export { planChecks, redactSecrets, runDoctor } from './doctor';
export { sharedDoctor, type SharedDoctorOptions } from './sharedRuns';
export { exitCodeOf, formatDoctorReport, NO_ROW, type FormatOptions } from './report';
export {
  formatTroubleshootingRow,
  troubleshootingRowFor,
  TROUBLESHOOTING_ROWS,
  type TroubleshootingRow,
  type TroubleshootingRowId,
  type TroubleshootingRowRef,
} from './troubleshooting';
export {
  certificateFileName,
  policyCaCertificates,
  type CaRole,
  type PolicyCaCertificate,
  type PolicyCaCertificates,
} from './caCertificates';
export {
  describeSidField,
  describeVariable,
  summarizeProfile,
  type ProfileSummary,
  type SidFieldSummary,
  type VariableSummary,
} from './profileSummary';
export {
  createRaSource,
  describeRaOrigin,
  raOriginOf,
  type RaOrigin,
  type RaSourceOptions,
} from './raSource';
export type {
  CheckOutcome,
  CheckReport,
  CheckStatus,
  DoctorCheck,
  DoctorContext,
  DoctorMode,
  DoctorOptions,
  DoctorReport,
  JsonValue,
} from './types';
