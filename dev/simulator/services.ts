/** The four PKI-WS services the simulator serves under `/pki-ws/<service>`. */
export const SIMULATOR_SERVICES = [
  'policyService',
  'enrollmentService',
  'healthcheckService',
  'certificateManagementService',
] as const;

export type SimulatorService = (typeof SIMULATOR_SERVICES)[number];
