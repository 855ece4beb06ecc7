import { DomainEvent } from '../event-sourcing/decider';

/** What events and read models hold instead of personal data: AES-256-GCM under the user's key. */
export interface SealedPersonalData {
  keyId: string;
  iv: string;
  ciphertext: string;
  tag: string;
}

export const userStream = (userId: string): string => `user-${userId}`;
export const USER_STREAM_PREFIX = 'user-';

/** The profile fields that are not personal data: kept in clear, used by reports. */
export interface UserProfileAttributes {
  userType: string | null;
  userSubType: string | null;
  state: string | null;
  district: string | null;
  block: string | null;
  cluster: string | null;
  schoolId: string | null;
  schoolName: string | null;
  organisationName: string | null;
}

export type UserProfileRecorded = DomainEvent<
  'UserProfileRecorded',
  {
    userId: string;
    organisationId: string;
    /** Name, email, phone and external id, sealed with the user's key; null when none given. */
    personal: SealedPersonalData | null;
    personalDigest: string | null;
    attributes: UserProfileAttributes;
    recordedBy: string;
    recordedAt: string;
  }
>;

export type UserPersonalDataErased = DomainEvent<
  'UserPersonalDataErased',
  { userId: string; erasedBy: string; erasedAt: string }
>;

export type UserEvent = UserProfileRecorded | UserPersonalDataErased;
