/**
 * An error whose message tells the user what is wrong and what to do (bad config, a locked stage,
 * a missing tool). The CLI prints it without a stack trace and exits with status 2.
 */
export class UserError extends Error {}
