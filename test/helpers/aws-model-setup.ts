/**
 * Vitest setup file (vitest.config.ts `setupFiles`): every test file validates the requests of
 * real SDK clients against the AWS models, and any test during which a request violated a model
 * (mocked through modelCheckedMock, or real) fails, even if the code under test swallowed the error.
 */
import { afterEach } from 'vitest';
import { installRealClientValidation, takeRecordedViolations } from './aws-model';

installRealClientValidation();

afterEach(() => {
  const violations = takeRecordedViolations();
  if (violations.length) throw new Error(`AWS requests sent during this test violate the service models:\n${violations.join('\n')}`);
});
