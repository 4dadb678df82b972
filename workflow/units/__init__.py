"""Administrative units (đơn vị hành chính cấp xã) as data: provinces, their communes and wards, their succession.

Pure values and checks; ``motcua.definitions.units`` loads them from ``definitions/units/<province>.yaml``.
"""
