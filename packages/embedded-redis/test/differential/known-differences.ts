/**
 * Differential cases the embedded server does not pass yet, by `family/name`, with why. The
 * suite skips them (printing the reason) unless `DIFF_ALL=1`; shrink this list as families land.
 */
export const KNOWN_DIFFERENCES: Readonly<Record<string, string>> = {
  'transactions/EXEC with arguments inside MULTI aborts the transaction':
    "EXEC with a wrong argument count replies `ERR wrong number of arguments for 'exec' command`; Redis replies `EXECABORT Transaction discarded because of: wrong number of arguments …` and ends the transaction",
  'streams/a blocked XREADGROUP learns that its stream was deleted':
    'a client blocked in XREADGROUP stays blocked when its stream is deleted; Redis replies `UNBLOCKED the stream key no longer exists`',
  'acl/ACL DELUSER disconnects the deleted user clients':
    "ACL DELUSER leaves the deleted user's connections open; Redis closes them",
  'acl/ACL GETUSER of an unknown user is a null bulk':
    'ACL GETUSER of an unknown user replies a null array (`*-1`); Redis replies a null bulk (`$-1`)',
  'keys/OBJECT ENCODING of an integer string becomes raw after APPEND':
    'OBJECT ENCODING still says `int` after APPEND/SETRANGE turn an integer string into a raw one',
  'keys/OBJECT ENCODING of a list is quicklist in Redis 7.0':
    'OBJECT ENCODING of a small list says `listpack` (Redis 7.2+); Redis 7.0 always says `quicklist`',
  'keys/OBJECT ENCODING of a sorted set with a member over 64 bytes is skiplist':
    'OBJECT ENCODING of a sorted set stays `listpack` after a member longer than zset-max-listpack-value (64) is added',
};
