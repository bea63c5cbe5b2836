/**
 * Differential cases the embedded server does not pass yet, by `family/name`, with why. The
 * suite skips them (printing the reason) unless `DIFF_ALL=1`; shrink this list as families land.
 */
export const KNOWN_DIFFERENCES: Readonly<Record<string, string>> = {
  'transactions/EXEC with arguments inside MULTI aborts the transaction':
    "EXEC with a wrong argument count replies `ERR wrong number of arguments for 'exec' command`; Redis replies `EXECABORT Transaction discarded because of: wrong number of arguments …` and ends the transaction",
  'scripts/redis.setresp with a bad version raises a plain error':
    'the error of redis.setresp(4) carries a `user_script:1: ` prefix that Redis does not add',
};
