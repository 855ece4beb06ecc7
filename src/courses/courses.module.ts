import { Module } from '@nestjs/common';
import { CourseListController } from './course-list.controller';
import { RegisterCourseHandler, UpdateCourseHierarchyHandler } from './courses.commands';
import { CoursesController } from './courses.controller';

@Module({
  controllers: [CourseListController, CoursesController],
  providers: [RegisterCourseHandler, UpdateCourseHierarchyHandler],
})
export class CoursesModule {}
