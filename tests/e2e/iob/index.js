'use strict';
// The e2e harness around a real js-controller: see controller.js (install, roots, the
// handle), resp.js (a RESP2 client), redis.js (a throwaway redis-server), util.js.
module.exports = {
    ...require('./controller'),
    ...require('./resp'),
    ...require('./redis'),
    ...require('./util'),
    ...require('./hmip'),
    ...require('./theirs'),
};
