"""The national public service portal (Cổng Dịch vụ công quốc gia, DVCQG): importing its sync files."""
