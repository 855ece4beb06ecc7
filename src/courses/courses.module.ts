import { Module } from '@nestjs/common';
import { CourseListController } from './course-list.controller';
import { CoursesController } from './courses.controller';

@Module({ controllers: [CourseListController, CoursesController] })
export class CoursesModule {}
