import { X509Certificate } from "node:crypto";
import test from "ava";
import { ConfigError } from "../../src/errors/gateway-error.js";
import { CertificateError, checkKeyPair, secondsUntilExpiry } from "../../src/tls/check.js";
import { loadServerTls } from "../../src/tls/context.js";
import { issueCertificate, type PemPair } from "../../src/tls/dev-certs.js";
import { testPki, writeTempFiles } from "../helpers/tls.js";

const DAY_MS = 86_400_000;
const HOSTS = ["localhost", "127.0.0.1"];

function serverCert(notBeforeDays: number, notAfterDays: number, hosts = HOSTS): PemPair {
  return issueCertificate(testPki().ca, {
    commonName: "localhost",
    usage: "server",
    hosts,
    notBefore: new Date(Date.now() + notBeforeDays * DAY_MS),
    notAfter: new Date(Date.now() + notAfterDays * DAY_MS),
  });
}

// each row: the material written as server.crt / server.key, the listen host, and the error expected
const failures: { desc: string; pair: () => PemPair; host?: string; file: string; problem: RegExp }[] = [
  {
    desc: "a key that belongs to another certificate",
    pair: () => ({ cert: testPki().server.cert, key: testPki().client.key }),
    file: "server.key",
    problem: /^private key does not match the certificate in .*server\.crt$/,
  },
  {
    desc: "an expired certificate",
    pair: () => serverCert(-30, -1),
    file: "server.crt",
    problem: /^expired on \d{4}-\d\d-\d\dT/,
  },
  {
    desc: "a certificate not yet valid",
    pair: () => serverCert(2, 90),
    file: "server.crt",
    problem: /^not valid until \d{4}-\d\d-\d\dT/,
  },
  {
    desc: "a certificate that does not cover the listen host",
    pair: () => testPki().server,
    host: "gateway.example.com",
    file: "server.crt",
    problem: /^does not cover "gateway\.example\.com" \(subjectAltName: DNS:localhost/,
  },
  {
    desc: "a certificate that does not cover the listen IP",
    pair: () => testPki().server,
    host: "10.1.2.3",
    file: "server.crt",
    problem: /^does not cover "10\.1\.2\.3"/,
  },
  {
    desc: "a file with no certificate in it",
    pair: () => ({ cert: testPki().server.key, key: testPki().server.key }),
    file: "server.crt",
    problem: /^contains no PEM certificate$/,
  },
  {
    desc: "a certificate file with a broken PEM body",
    pair: () => ({ cert: "-----BEGIN CERTIFICATE-----\nnonsense\n-----END CERTIFICATE-----\n", key: "" }),
    file: "server.crt",
    problem: /^certificate 1 cannot be parsed$/,
  },
  {
    desc: "a key file that is not a key",
    pair: () => ({ cert: testPki().server.cert, key: "hello" }),
    file: "server.key",
    problem: /^is not a readable private key/,
  },
];

for (const row of failures) {
  test(`loadServerTls refuses ${row.desc}, naming the file and the problem`, async (t) => {
    const pair = row.pair();
    const paths = await writeTempFiles(t, { "server.crt": pair.cert, "server.key": pair.key });
    const config = { certFile: paths["server.crt"], keyFile: paths["server.key"], clientCerts: "off" } as const;
    const error = await t.throwsAsync(loadServerTls(config, { host: row.host ?? "localhost" }), {
      instanceOf: CertificateError,
    });
    t.true(error instanceof ConfigError, "a config error, so the CLI reports it as one");
    t.is(error?.file, row.file === "server.crt" ? paths["server.crt"] : paths["server.key"]);
    t.regex(error?.problem ?? "", row.problem);
    t.true(error?.message.startsWith(`${error.file}: `));
  });
}

test("loadServerTls names a file that does not exist", async (t) => {
  const config = {
    certFile: "/nonexistent/server.crt",
    keyFile: "/nonexistent/server.key",
    clientCerts: "off",
  } as const;
  await t.throwsAsync(loadServerTls(config), { message: "/nonexistent/server.crt: cannot be read (ENOENT)" });
});

test("loadServerTls names a CA file that does not parse, and a CRL file that holds no CRL", async (t) => {
  const { server } = testPki();
  const paths = await writeTempFiles(t, {
    "s.crt": server.cert,
    "s.key": server.key,
    "ca.crt": "junk",
    "crl.pem": "x",
  });
  const base = { certFile: paths["s.crt"], keyFile: paths["s.key"], clientCerts: "required" } as const;
  await t.throwsAsync(loadServerTls({ ...base, caFile: paths["ca.crt"] }), {
    message: `${paths["ca.crt"]}: contains no PEM certificate`,
  });
  const withCa = { ...base, caFile: (await writeTempFiles(t, { "ca.crt": testPki().ca.cert }))["ca.crt"] };
  await t.throwsAsync(loadServerTls({ ...withCa, crlFile: paths["crl.pem"] }), {
    message: `${paths["crl.pem"]}: contains no PEM CRL`,
  });
});

test("loadServerTls wants a CA file whenever client certificates are asked for", async (t) => {
  const { server } = testPki();
  const paths = await writeTempFiles(t, { "s.crt": server.cert, "s.key": server.key });
  const config = { certFile: paths["s.crt"], keyFile: paths["s.key"], clientCerts: "optional" } as const;
  await t.throwsAsync(loadServerTls(config), {
    instanceOf: ConfigError,
    message: 'tls.caFile is required when tls.clientCerts is "optional"',
  });
});

test("a certificate with under 30 days left loads, with a warning that names the file", async (t) => {
  const pair = serverCert(-300, 10);
  const paths = await writeTempFiles(t, { "server.crt": pair.cert, "server.key": pair.key });
  const config = { certFile: paths["server.crt"], keyFile: paths["server.key"], clientCerts: "off" } as const;
  const loaded = await loadServerTls(config, { host: "localhost" });
  t.is(loaded.warnings.length, 1);
  t.regex(loaded.warnings[0] ?? "", new RegExp(`^${paths["server.crt"]}: expires in (9|10) days, on `));
});

test("a healthy certificate loads without warnings", async (t) => {
  const { server } = testPki();
  const paths = await writeTempFiles(t, { "server.crt": server.cert, "server.key": server.key });
  const config = { certFile: paths["server.crt"], keyFile: paths["server.key"], clientCerts: "off" } as const;
  const loaded = await loadServerTls(config, { host: "127.0.0.1" });
  t.deepEqual(loaded.warnings, []);
  t.is(loaded.options.minVersion, "TLSv1.2");
});

for (const host of ["0.0.0.0", "::", "[::]", "localhost", "127.0.0.1", "::1", "[::1]", "LOCALHOST"]) {
  test(`the host check passes for listen host ${host}`, (t) => {
    const { server } = testPki();
    t.notThrows(() => checkKeyPair({ certFile: "s.crt", keyFile: "s.key", ...server, hosts: [host] }));
  });
}

test("a leaf not signed by the expected CA is refused", (t) => {
  const { other, ca } = testPki();
  const error = t.throws(() =>
    checkKeyPair({ certFile: "c.crt", keyFile: "c.key", ...other.client, issuer: new X509Certificate(ca.cert) }),
  );
  t.regex(error?.message ?? "", /^c\.crt: not issued by the CA O=Portcullis, CN=Portcullis Dev CA$/);
});

test("secondsUntilExpiry counts down to the leaf's notAfter, negative once expired", (t) => {
  const { server } = testPki();
  const notAfter = new Date(new X509Certificate(server.cert).validTo);
  t.is(secondsUntilExpiry(server.cert, new Date(notAfter.getTime() - 90_000)), 90);
  t.is(secondsUntilExpiry(server.cert, new Date(notAfter.getTime() + 5_000)), -5);
});
