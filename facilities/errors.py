"""Domain errors of the facilities feature (the API answers them in the contract's shape)."""

from eldercare.errors import Conflict, Forbidden, Invalid


class BedOccupied(Conflict):
    code = "bed_occupied"


class PersonAlreadyInBed(Conflict):
    code = "person_in_bed"


class BedOutOfService(Conflict):
    code = "bed_out_of_service"


class BedReserved(Conflict):
    code = "bed_reserved"


class PersonNotActive(Conflict):
    """Discharged people can come back; the dead and those who moved away cannot."""

    code = "person_not_active"


class StayNotOpen(Conflict):
    code = "stay_ended"


class OnLeave(Conflict):
    code = "on_leave"


class NotOnLeave(Conflict):
    code = "not_on_leave"


class NotOwnFacility(Forbidden):
    code = "not_own_facility"


class BadDate(Invalid):
    code = "invalid_date"


class BeforeBirth(BadDate):
    """A date before the person was born: says their birth date, so only to a writer
    who may read them (facilities.scoping.discreet)."""


class FacilityClosed(Conflict):
    code = "facility_closed"


class FacilityNotEmpty(Conflict):
    """A facility closes only when nobody stays and no bed is held for anyone."""

    code = "facility_not_empty"
