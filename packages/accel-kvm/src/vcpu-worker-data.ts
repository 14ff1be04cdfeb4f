/**
 * What the main thread hands a vCPU worker (structured-cloned as `workerData`): plain fd
 * numbers and host addresses, which are valid in every thread of the process, and the
 * SharedArrayBuffers both sides use. Nothing is copied per exit.
 */
export interface RamSlotInfo {
  gpa: number;
  size: number;
  hostAddress: bigint;
}

export interface VcpuWorkerData {
  index: number;
  vcpuFd: number;
  runAddress: bigint;
  runSize: number;
  irqchip: 'kernel' | 'user';
  /** Narrate KVM_RUN and exits on stderr (fs.writeSync(2), so lines keep their order). */
  trace: boolean;
  tracePrefix: string;
  control: SharedArrayBuffer;
  mailbox: SharedArrayBuffer;
  ioMaps: SharedArrayBuffer;
  stats: SharedArrayBuffer;
  /** How long the worker polls for a mailbox answer before sleeping (MailboxTiming). */
  mailboxSpinUs: number;
  /** Guest RAM slots, viewed by the worker only to show code bytes in fatal messages. */
  ram: RamSlotInfo[];
}
