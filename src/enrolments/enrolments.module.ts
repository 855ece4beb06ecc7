import { Module } from '@nestjs/common';
import { BulkEnrolments } from './bulk-enrolment';
import { EnrolmentLookups } from './enrolment-lookups';
import { EnrolmentWriter } from './enrolment-writer';
import {
  EnrolHandler,
  IssueCertificatesHandler,
  RecordAssessmentHandler,
  RecordProgressHandler,
  UnenrolHandler,
} from './enrolments.commands';
import { EnrolmentsController } from './enrolments.controller';

@Module({
  controllers: [EnrolmentsController],
  providers: [
    EnrolmentLookups,
    EnrolmentWriter,
    BulkEnrolments,
    EnrolHandler,
    UnenrolHandler,
    RecordProgressHandler,
    RecordAssessmentHandler,
    IssueCertificatesHandler,
  ],
})
export class EnrolmentsModule {}
