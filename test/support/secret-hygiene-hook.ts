// The integration project's setupFilesAfterEach: after every test file, the secret hygiene scan
// (secret-hygiene.ts) over what the file registered, so no test can forget to call it.
import { afterAll } from '@jest/globals'
import { assertNoSecretLeaks } from './secret-hygiene.js'

afterAll(() => assertNoSecretLeaks())
