// Drives Beckon's FHIR endpoint with fhir-kit-client, as an EHR integration
// built on it would. Reads {"base", "token", "steps": [...]} on stdin, where a
// step is {"op": "transaction" | "batch", "body": Bundle} or
// {"op": "read", "resourceType", "id"} or {"op": "capabilityStatement"}, runs
// the steps in order and prints, for each, {"status", "url", "body"}: the
// HTTP status, the URL the library called and the answer (an error's too).
import { Client } from 'fhir-kit-client';

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const input = JSON.parse(Buffer.concat(chunks).toString('utf8'));

const client = new Client({ baseUrl: input.base, bearerToken: input.token });
const results = [];
for (const step of input.steps) {
  try {
    let body;
    switch (step.op) {
      case 'transaction':
        body = await client.transaction({ body: step.body });
        break;
      case 'batch':
        body = await client.batch({ body: step.body });
        break;
      case 'read':
        body = await client.read({ resourceType: step.resourceType, id: step.id });
        break;
      case 'capabilityStatement':
        body = await client.capabilityStatement();
        break;
      default:
        throw new Error(`unknown step ${step.op}`);
    }
    const res = Client.httpFor(body);
    results.push({ status: res.response.status, url: res.request.url, body });
  } catch (err) {
    if (!err.response) throw err; // not an HTTP answer: the test fails on it
    results.push({ status: err.response.status, url: err.config.url, body: err.response.data });
  }
}
process.stdout.write(JSON.stringify(results));
