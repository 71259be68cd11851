/** Timer: every five minutes, the queue lengths as the metric pkcs.queueLength (see handlers/queueLength.ts). */
import { app } from '@azure/functions';
import { queueLengthSchedule } from './handlers/bindings';
import { reportQueueLength } from './handlers/queueLength';

app.timer('reportQueueLength', { schedule: queueLengthSchedule, handler: reportQueueLength });
