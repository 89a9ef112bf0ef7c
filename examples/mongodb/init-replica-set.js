// Initiates the one-member replica set rs0 and creates the first administrator, once: every later
// run (restarts, a new pod on the same data) finds both done and changes nothing.
// Run by the replica-set-init container with mongosh against 127.0.0.1, where MongoDB's localhost
// exception allows the first steps before any user exists.
const user = process.env.MONGO_ADMIN_USER;
const pwd = process.env.MONGO_ADMIN_PASSWORD;
const member = process.env.MEMBER_HOST;
const admin = db.getSiblingDB('admin');

let authenticated = false;
try {
  authenticated = admin.auth(user, pwd).ok === 1;
} catch (error) {
  // No such user yet: the localhost exception applies.
}

let initiated = true;
try {
  rs.status();
} catch (error) {
  if (error.codeName !== 'NotYetInitialized') throw error;
  initiated = false;
}
if (!initiated) {
  rs.initiate({ _id: 'rs0', members: [{ _id: 0, host: member }] });
  print(`initiated replica set rs0 with member ${member}`);
}
while (!db.hello().isWritablePrimary) sleep(500);
if (!authenticated) {
  admin.createUser({ user, pwd, roles: ['root'] });
  print(`created administrator ${user}`);
}
print('replica set rs0 is ready');
