export * from './columns';
export * from './raw-record';
export * from './bedrock-guidance';
export * from './org-directory';
export * from './curated-events';
export * from './price-book';
export * from './bills';
export * from './reidentification';
