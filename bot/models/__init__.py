"""All tables; importing this package registers them on Base.metadata (Alembic reads it)."""
from .application import Application
from .base import Base, UTCDateTime, utcnow
from .booking import Booking, BookingRules, Closure, ConsultationSlot
from .broadcast import Broadcast
from .conversation import Conversation
from .event import Event, EventRegistration
from .favorite import Favorite
from .job import Job, RecentSearch, SavedSearch
from .outbox import OutboxMessage
from .staff import AuditLog, Staff
from .sign_in import SignInAttempt
from .preferences import Preferences
from .recommendation import RecommendationMark, RecommendedJob, StaffRecommendation, StaffRecommendationItem
from .user import User
from .webhook import ChatNotice, PendingReply, ProcessedEvent

__all__ = ["Base", "UTCDateTime", "utcnow", "User", "ProcessedEvent", "PendingReply", "ChatNotice", "OutboxMessage",
           "Job", "SavedSearch", "RecentSearch", "Conversation", "Favorite",
           "Preferences", "Staff", "AuditLog", "Event", "EventRegistration",
           "Broadcast", "Application", "RecommendedJob", "RecommendationMark",
           "Booking", "BookingRules", "Closure", "ConsultationSlot", "SignInAttempt"]
