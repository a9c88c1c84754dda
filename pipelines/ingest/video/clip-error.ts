import { RecordError } from '../record-error.js';

/**
 * Why a clip cannot become a sample. `reason` becomes the quarantine reason; `details` (ffmpeg's
 * own messages, probed numbers) go into the ledger row next to the message.
 */
export class ClipError extends RecordError {
  constructor(
    reason: ClipErrorReason,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(reason, message);
  }
}

export type ClipErrorReason =
  | 'not_a_regular_file'
  | 'corrupt_video'
  | 'no_video_stream'
  | 'video_too_long'
  | 'ffmpeg_timeout'
  | 'video_output_too_large'
  | 'video_changed_during_read'
  | 'malformed_sidecar';
