// An OpenID Connect provider for the tests: npm's oidc-provider (OpenID Certified), with
// the users, their groups and the hub's client that tests/harness/oidc.py passes in as
// JSON. Its own development login form takes a user's name; the tests fill it in.
import Provider from 'oidc-provider';

const { issuer, host, port, client, users } = JSON.parse(process.argv[2]);

const provider = new Provider(issuer, {
  clients: [client],
  scopes: ['openid', 'profile', 'email', 'groups'],
  claims: {
    openid: ['sub'],
    profile: ['preferred_username', 'name'],
    email: ['email'],
    groups: ['groups'],
  },
  // Every login must carry PKCE (S256): a hub that stopped sending it could not log in at all.
  pkce: { methods: ['S256'], required: () => true },
  findAccount: async (ctx, id) => (users[id] ? {
    accountId: id,
    claims: async () => ({ sub: id, preferred_username: id, name: id, ...users[id] }),
  } : undefined),
  cookies: { keys: ['a-key-for-the-tests-only'] },
});

provider.listen(port, host, () => console.log(`oidc-provider listening at ${issuer}`));
