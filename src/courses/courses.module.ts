import { Module } from '@nestjs/common';
import { CourseListController } from './course-list.controller';
import {
  RegisterCourseHandler,
  SetCourseLmsResourceLinkHandler,
  UpdateCourseHierarchyHandler,
} from './courses.commands';
import { CoursesController } from './courses.controller';

@Module({
  controllers: [CourseListController, CoursesController],
  providers: [RegisterCourseHandler, UpdateCourseHierarchyHandler, SetCourseLmsResourceLinkHandler],
})
export class CoursesModule {}
