/** Why an input record cannot become a sample; `reason` becomes the quarantine reason. */
export class RecordError extends Error {
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}
